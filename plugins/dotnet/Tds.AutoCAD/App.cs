using Autodesk.AutoCAD.Runtime;

[assembly: ExtensionApplication(typeof(Tds.AutoCAD.App))]
[assembly: CommandClass(typeof(Tds.AutoCAD.Commands))]

namespace Tds.AutoCAD
{
    /// <summary>Loaded by the autoloader (Tds.AutoCAD.bundle/PackageContents.xml) or NETLOAD. It adds
    /// nothing at start-up: the TDSRENDER command opens the panel when asked.</summary>
    public sealed class App : IExtensionApplication
    {
        public void Initialize()
        {
        }

        /// <summary>Runs only when AutoCAD exits.</summary>
        public void Terminate()
        {
            Commands.CloseWindow();
        }
    }
}
