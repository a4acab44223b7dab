using Autodesk.Revit.Attributes;
using Autodesk.Revit.DB;
using Autodesk.Revit.UI;
using Tds.Plugins.Core;
using Tds.Plugins.Windows;

namespace Tds.Revit
{
    /// <summary>The ribbon button: opens (or brings back) the modeless tds window. Revit's API is
    /// only valid here and in ExternalEvent handlers, so the window reaches the model only through
    /// <see cref="RevitBridge"/>'s events.</summary>
    [Transaction(TransactionMode.Manual)]
    public sealed class RenderCommand : IExternalCommand
    {
        static RenderWindow _window;
        static RenderController _controller;
        static RevitBridge _bridge;

        public Result Execute(ExternalCommandData commandData, ref string message, ElementSet elements)
        {
            if (commandData.Application.ActiveUIDocument == null)
            {
                message = "Open a model first.";
                return Result.Failed;
            }
            if (_window == null || _window.IsDisposed)
            {
                // ExternalEvent.Create must run in API context: here, not in the window.
                var bridge = _bridge = new RevitBridge();
                bridge.Observe(commandData.Application); // before the window shows the model's project
                _controller?.Dispose();
                _controller = new RenderController(WindowsSettings.For("revit"), HostSource.Revit);
                _window = new RenderWindow(_controller, bridge);
                _window.FormClosed += (s, e) => bridge.Dispose();
                _window.Show(new RevitOwner(commandData.Application.MainWindowHandle));
            }
            else
            {
                _bridge?.Observe(commandData.Application); // another model may be active now
                _window.Activate();
            }
            return Result.Succeeded;
        }

        internal static void CloseWindow()
        {
            if (_window != null && !_window.IsDisposed) _window.Close();
            _controller?.Dispose();
        }

        /// <summary>Keeps the window above Revit's main window.</summary>
        sealed class RevitOwner : System.Windows.Forms.IWin32Window
        {
            public RevitOwner(System.IntPtr handle) { Handle = handle; }
            public System.IntPtr Handle { get; }
        }
    }
}
