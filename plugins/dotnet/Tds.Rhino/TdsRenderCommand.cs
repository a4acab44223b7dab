using Rhino;
using Rhino.Commands;

namespace Tds.RhinoPlugin
{
    /// <summary>TdsRender: opens the tds panel for the active document (or brings it forward).</summary>
    public sealed class TdsRenderCommand : Command
    {
        public override string EnglishName => "TdsRender";

        protected override Result RunCommand(RhinoDoc doc, RunMode mode)
        {
            if (doc.Views.ActiveView == null)
            {
                RhinoApp.WriteLine("tds: there is no active view to render.");
                return Result.Failure;
            }
            RenderForm.ShowFor(doc);
            return Result.Success;
        }
    }
}
