using System;
using System.IO;
using System.Reflection;
using System.Windows.Media.Imaging;
using Autodesk.Revit.UI;

namespace Tds.Revit
{
    /// <summary>Revit loads this through Tds.Revit.addin: one "Render view" button on a "tds" ribbon
    /// tab. Everything else happens when the button is pressed (<see cref="RenderCommand"/>).</summary>
    public sealed class App : IExternalApplication
    {
        public Result OnStartup(UIControlledApplication application)
        {
            const string tab = "tds";
            try
            {
                application.CreateRibbonTab(tab);
            }
            catch (Autodesk.Revit.Exceptions.ArgumentException)
            {
                // the tab exists already (another tds add-in made it)
            }
            var panel = application.CreateRibbonPanel(tab, "Render");
            var assembly = Assembly.GetExecutingAssembly().Location;
            var button = new PushButtonData("TdsRender", "Render\nview", assembly, typeof(RenderCommand).FullName)
            {
                ToolTip = "Send the active view to tds and show the render (cost and balance shown before you click).",
                LargeImage = Icon(assembly, "render_32.png"),
                Image = Icon(assembly, "render_16.png"),
            };
            panel.AddItem(button);
            return Result.Succeeded;
        }

        public Result OnShutdown(UIControlledApplication application)
        {
            RenderCommand.CloseWindow();
            return Result.Succeeded;
        }

        static BitmapImage Icon(string assembly, string name)
        {
            var path = Path.Combine(Path.GetDirectoryName(assembly), "Resources", name);
            return File.Exists(path) ? new BitmapImage(new Uri(path)) : null;
        }
    }
}
