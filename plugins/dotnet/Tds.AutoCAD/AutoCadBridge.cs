using System;
using System.Drawing;
using System.Drawing.Imaging;
using System.IO;
using Autodesk.AutoCAD.ApplicationServices;
using Autodesk.AutoCAD.DatabaseServices;
using Autodesk.AutoCAD.Geometry;
using Tds.Plugins.Core;
using Tds.Plugins.Windows;
using AcadApp = Autodesk.AutoCAD.ApplicationServices.Application;

namespace Tds.AutoCAD
{
    /// <summary>AutoCAD's side of the panel. The panel is a modeless window on AutoCAD's main thread,
    /// so these run there; HTTP never does (RenderController runs it on the thread pool and the
    /// window marshals results back before anything touches the drawing).</summary>
    public sealed class AutoCadBridge : IHostBridge
    {
        public string HostName => "AutoCAD";

        /// <summary>The active drawing's file ("" when unnamed): its project code is kept by path in
        /// the plugin's settings (a drawing has no project field of its own to write without a lock).</summary>
        public ModelInfo ActiveModel()
        {
            var document = AcadApp.DocumentManager.MdiActiveDocument;
            return new ModelInfo(document != null && document.IsNamedDrawing ? document.Database.Filename : "");
        }

        public void Capture(RenderController controller, Action<CaptureResult> done)
        {
            var document = AcadApp.DocumentManager.MdiActiveDocument;
            if (document == null)
            {
                done(new CaptureResult(new TdsException(TdsErrorKind.Capture, "Open a drawing first.")));
                return;
            }
            try
            {
                var png = controller.Capture(new AutoCadViewCapture(document));
                // An unnamed drawing's Filename is its template: treat it as unsaved.
                done(new CaptureResult(png, document.IsNamedDrawing ? document.Database.Filename : ""));
            }
            catch (TdsException e)
            {
                done(new CaptureResult(e));
            }
            catch (Autodesk.AutoCAD.Runtime.Exception e)
            {
                done(new CaptureResult(new TdsException(TdsErrorKind.Capture, "AutoCAD could not capture the view: " + e.Message)));
            }
        }

        /// <summary>Attaches the render as a raster image beside the current view, in model space
        /// (or the current layout), under the document lock a modeless window needs.</summary>
        public void PlaceImage(string path, Action<System.Exception> done)
        {
            var document = AcadApp.DocumentManager.MdiActiveDocument;
            try
            {
                if (document == null) throw new InvalidOperationException("Open a drawing first.");
                var database = document.Database;
                using (document.LockDocument())
                using (var transaction = database.TransactionManager.StartTransaction())
                {
                    var dictionaryId = RasterImageDef.GetImageDictionary(database);
                    if (dictionaryId.IsNull) dictionaryId = RasterImageDef.CreateImageDictionary(database);
                    var dictionary = (DBDictionary)transaction.GetObject(dictionaryId, OpenMode.ForWrite);
                    var name = Path.GetFileNameWithoutExtension(path);
                    for (var n = 2; dictionary.Contains(name); n++) name = Path.GetFileNameWithoutExtension(path) + "-" + n;

                    var definition = new RasterImageDef { SourceFileName = path };
                    definition.Load();
                    var definitionId = dictionary.SetAt(name, definition);
                    transaction.AddNewlyCreatedDBObject(definition, true);

                    // Beside the current view, as wide as the view.
                    var center = (Point3d)AcadApp.GetSystemVariable("VIEWCTR");
                    var viewHeight = (double)AcadApp.GetSystemVariable("VIEWSIZE");
                    var screen = (Point2d)AcadApp.GetSystemVariable("SCREENSIZE");
                    var viewWidth = viewHeight * screen.X / Math.Max(1.0, screen.Y);
                    var pixels = definition.Size;
                    var height = viewWidth * pixels.Y / Math.Max(1.0, pixels.X);
                    var origin = new Point3d(center.X + viewWidth * 0.55, center.Y - viewHeight / 2, 0);

                    var space = (BlockTableRecord)transaction.GetObject(database.CurrentSpaceId, OpenMode.ForWrite);
                    var image = new RasterImage
                    {
                        ImageDefId = definitionId,
                        Orientation = new CoordinateSystem3d(origin, new Vector3d(viewWidth, 0, 0), new Vector3d(0, height, 0)),
                        ShowImage = true,
                    };
                    space.AppendEntity(image);
                    transaction.AddNewlyCreatedDBObject(image, true);
                    image.AssociateRasterDef(definition);
                    transaction.Commit();
                }
                document.Editor.WriteMessage("\ntds: placed " + Path.GetFileName(path) + " beside the view.\n");
                done(null);
            }
            catch (System.Exception e)
            {
                done(e);
            }
        }
    }

    /// <summary>The current viewport on screen through its graphics-system view (GetSnapshot, the
    /// exact pixels shown), or the document's preview image where no GS view is available.</summary>
    public sealed class AutoCadViewCapture : IViewCapture
    {
        readonly Document _document;

        public AutoCadViewCapture(Document document)
        {
            _document = document;
        }

        public PixelSize ViewSize
        {
            get
            {
                var screen = (Point2d)AcadApp.GetSystemVariable("SCREENSIZE");
                return new PixelSize(Math.Max(16, (int)screen.X), Math.Max(16, (int)screen.Y));
            }
        }

        /// <summary>GetSnapshot can only copy what is on screen, so the size is capped at the
        /// viewport's; the server scales the image to the chosen resolution.</summary>
        public byte[] CapturePng(PixelSize size)
        {
            var view = ViewSize;
            var scale = Math.Min(1.0, Math.Min(view.Width / (double)size.Width, view.Height / (double)size.Height));
            int width = Math.Max(16, (int)(size.Width * scale)), height = Math.Max(16, (int)(size.Height * scale));
            Bitmap bitmap = null;
            try
            {
                var viewport = Convert.ToInt32(AcadApp.GetSystemVariable("CVPORT"));
                var gsView = _document.GraphicsManager.GetCurrentAcGsView(viewport);
                if (gsView != null) bitmap = gsView.GetSnapshot(new Rectangle(0, 0, width, height));
                if (bitmap == null) bitmap = _document.CapturePreviewImage((uint)width, (uint)height);
                if (bitmap == null) throw new TdsException(TdsErrorKind.Capture, "AutoCAD returned no image of the view.");
                using (var stream = new MemoryStream())
                {
                    bitmap.Save(stream, ImageFormat.Png);
                    return stream.ToArray();
                }
            }
            finally
            {
                bitmap?.Dispose();
            }
        }
    }
}
