using System.Drawing.Imaging;
using System.IO;
using Rhino.Display;
using Tds.Plugins.Core;

namespace Tds.RhinoPlugin
{
    /// <summary>The active viewport through ViewCapture: any size, without grid, axes or
    /// widgets, on an opaque background. Call it on Rhino's UI thread.</summary>
    public sealed class RhinoViewCapture : IViewCapture
    {
        readonly RhinoView _view;

        public RhinoViewCapture(RhinoView view)
        {
            _view = view;
        }

        public PixelSize ViewSize
        {
            get
            {
                var size = _view.ActiveViewport.Size;
                return new PixelSize(size.Width, size.Height);
            }
        }

        public byte[] CapturePng(PixelSize size)
        {
            var capture = new ViewCapture
            {
                Width = size.Width,
                Height = size.Height,
                ScaleScreenItems = false,
                DrawAxes = false,
                DrawGrid = false,
                DrawGridAxes = false,
                TransparentBackground = false,
            };
            using (var bitmap = capture.CaptureToBitmap(_view))
            {
                if (bitmap == null) throw new TdsException(TdsErrorKind.Capture, "Rhino could not capture the viewport. Try a smaller resolution.");
                using (var stream = new MemoryStream())
                {
                    bitmap.Save(stream, ImageFormat.Png);
                    return stream.ToArray();
                }
            }
        }
    }
}
