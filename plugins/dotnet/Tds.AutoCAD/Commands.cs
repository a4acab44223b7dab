using Autodesk.AutoCAD.Runtime;
using Tds.Plugins.Core;
using Tds.Plugins.Windows;
using AcadApp = Autodesk.AutoCAD.ApplicationServices.Application;

namespace Tds.AutoCAD
{
    public sealed class Commands
    {
        static RenderWindow _window;
        static RenderController _controller;

        /// <summary>TDSRENDER: opens (or brings back) the modeless tds panel for the current drawing.</summary>
        [CommandMethod("TDS", "TDSRENDER", CommandFlags.Session)]
        public static void Render()
        {
            if (_window == null || _window.IsDisposed)
            {
                _controller?.Dispose();
                _controller = new RenderController(WindowsSettings.For("autocad"), HostSource.AutoCad);
                _window = new RenderWindow(_controller, new AutoCadBridge());
                AcadApp.ShowModelessDialog(_window);
            }
            else
            {
                _window.Activate();
            }
        }

        internal static void CloseWindow()
        {
            if (_window != null && !_window.IsDisposed) _window.Close();
            _controller?.Dispose();
        }
    }
}
