using System;
using System.IO;
using System.Linq;
using Autodesk.Revit.DB;
using Autodesk.Revit.UI;
using Tds.Plugins.Core;
using Tds.Plugins.Windows;

namespace Tds.Revit
{
    /// <summary>Capture and "place in model" as ExternalEvents: Revit runs them on its main thread,
    /// in API context, when it is idle; the window keeps working meanwhile.</summary>
    public sealed class RevitBridge : IHostBridge, IDisposable
    {
        readonly CaptureHandler _captureHandler = new CaptureHandler();
        readonly PlaceHandler _placeHandler = new PlaceHandler();
        readonly ExternalEvent _capture;
        readonly ExternalEvent _place;
        ModelInfo _model = new ModelInfo("");

        public RevitBridge()
        {
            _capture = ExternalEvent.Create(_captureHandler);
            _place = ExternalEvent.Create(_placeHandler);
        }

        public string HostName => "Revit";

        /// <summary>The model as last seen in API context (the ribbon command, each capture): the
        /// window runs outside it and must not read the document itself.</summary>
        public ModelInfo ActiveModel() => _model;

        /// <summary>Notes the active document's path and its Project Information → Project Number,
        /// the project code a Revit model already carries. Call in API context only.</summary>
        public void Observe(UIApplication app)
        {
            var document = app.ActiveUIDocument?.Document;
            if (document == null) return;
            string number = null;
            try
            {
                number = document.ProjectInformation?.Number;
            }
            catch (Autodesk.Revit.Exceptions.ApplicationException)
            {
                number = null; // a family document has no project information
            }
            _model = new ModelInfo(document.IsModelInCloud ? "" : document.PathName, string.IsNullOrWhiteSpace(number) ? null : number.Trim());
        }

        public void Capture(RenderController controller, Action<CaptureResult> done)
        {
            _captureHandler.Bridge = this;
            _captureHandler.Controller = controller;
            _captureHandler.Done = done;
            if (_capture.Raise() != ExternalEventRequest.Accepted)
                done(new CaptureResult(new TdsException(TdsErrorKind.Capture, "Revit is busy. Finish the current command and try again.")));
        }

        public void PlaceImage(string path, Action<Exception> done)
        {
            _placeHandler.ImagePath = path;
            _placeHandler.Done = done;
            if (_place.Raise() != ExternalEventRequest.Accepted)
                done(new InvalidOperationException("Revit is busy. Finish the current command and try again."));
        }

        public void Dispose()
        {
            _capture.Dispose();
            _place.Dispose();
        }

        sealed class CaptureHandler : IExternalEventHandler
        {
            public RevitBridge Bridge;
            public RenderController Controller;
            public Action<CaptureResult> Done;

            public string GetName() => "tds: capture the active view";

            public void Execute(UIApplication app)
            {
                CaptureResult result;
                try
                {
                    var uiDocument = app.ActiveUIDocument ?? throw new TdsException(TdsErrorKind.Capture, "Open a model first.");
                    var document = uiDocument.Document;
                    Bridge.Observe(app);
                    var png = Controller.Capture(new RevitViewCapture(uiDocument));
                    var modelPath = document.IsModelInCloud ? "" : document.PathName;
                    result = new CaptureResult(png, modelPath);
                }
                catch (TdsException e)
                {
                    result = new CaptureResult(e);
                }
                catch (Autodesk.Revit.Exceptions.ApplicationException e)
                {
                    // e.g. "current view cannot be exported", "DirectX Device was lost"
                    result = new CaptureResult(new TdsException(TdsErrorKind.Capture, "Revit could not export this view: " + e.Message));
                }
                Done(result);
            }
        }

        sealed class PlaceHandler : IExternalEventHandler
        {
            public string ImagePath;
            public Action<Exception> Done;

            public string GetName() => "tds: place the render in the model";

            public void Execute(UIApplication app)
            {
                try
                {
                    var uiDocument = app.ActiveUIDocument ?? throw new InvalidOperationException("Open a model first.");
                    var document = uiDocument.Document;
                    using (var transaction = new Transaction(document, "Place tds render"))
                    {
                        transaction.Start();
                        var view = document.ActiveView;
                        var target = ImageInstance.IsValidView(view) ? view : DraftingView(document);
                        var type = ImageType.Create(document, new ImageTypeOptions(ImagePath, false, ImageTypeSource.Import));
                        ImageInstance.Create(document, target, type.Id, new ImagePlacementOptions());
                        transaction.Commit();
                        if (target.Id != view.Id) uiDocument.RequestViewChange(target);
                    }
                    Done(null);
                }
                catch (Exception e)
                {
                    Done(e);
                }
            }

            // Images go in 2D views only: a 3D view's render goes to a new drafting view.
            static View DraftingView(Document document)
            {
                var type = new FilteredElementCollector(document).OfClass(typeof(ViewFamilyType)).Cast<ViewFamilyType>()
                    .First(t => t.ViewFamily == ViewFamily.Drafting);
                var view = ViewDrafting.Create(document, type.Id);
                view.Name = "tds render " + DateTime.Now.ToString("yyyy-MM-dd HH.mm.ss");
                return view;
            }
        }
    }

    /// <summary>The active view through Document.ExportImage, into a temporary PNG.</summary>
    public sealed class RevitViewCapture : IViewCapture
    {
        readonly UIDocument _uiDocument;

        public RevitViewCapture(UIDocument uiDocument)
        {
            _uiDocument = uiDocument;
        }

        public PixelSize ViewSize
        {
            get
            {
                var view = _uiDocument.ActiveView;
                var uiView = _uiDocument.GetOpenUIViews().FirstOrDefault(v => v.ViewId == view.Id);
                if (uiView == null) return new PixelSize(1600, 900);
                var rect = uiView.GetWindowRectangle();
                return new PixelSize(Math.Max(16, rect.Right - rect.Left), Math.Max(16, rect.Bottom - rect.Top));
            }
        }

        public byte[] CapturePng(PixelSize size)
        {
            var document = _uiDocument.Document;
            var view = document.ActiveView;
            if (view.IsTemplate || view.ViewType == ViewType.Schedule || view.ViewType == ViewType.ProjectBrowser
                || view.ViewType == ViewType.SystemBrowser || view.ViewType == ViewType.Report)
                throw new TdsException(TdsErrorKind.Capture, "Switch to a 3D, plan, section or elevation view: this view has no image to send.");

            var folder = Path.Combine(Path.GetTempPath(), "tds-capture-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(folder);
            try
            {
                var horizontal = size.Width >= size.Height;
                var options = new ImageExportOptions
                {
                    ExportRange = ExportRange.VisibleRegionOfCurrentView,
                    ZoomType = ZoomType.FitToPage,
                    FitDirection = horizontal ? FitDirectionType.Horizontal : FitDirectionType.Vertical,
                    PixelSize = horizontal ? size.Width : size.Height,
                    HLRandWFViewsFileType = ImageFileType.PNG,
                    ShadowViewsFileType = ImageFileType.PNG,
                    ImageResolution = ImageResolution.DPI_150,
                    FilePath = Path.Combine(folder, "view"),
                };
                document.ExportImage(options);
                // GetFileName says where Revit put it; the view name it appends may be altered, so
                // fall back to the one PNG in our own folder.
                var expected = ImageExportOptions.GetFileName(document, view.Id);
                var file = File.Exists(expected) ? expected : Directory.GetFiles(folder, "*.png").FirstOrDefault();
                if (file == null) throw new TdsException(TdsErrorKind.Capture, "Revit exported no image of this view.");
                return File.ReadAllBytes(file);
            }
            finally
            {
                try
                {
                    Directory.Delete(folder, true);
                }
                catch (IOException)
                {
                    // a virus scanner may still hold it; the temp folder is cleaned by Windows
                }
            }
        }
    }
}
