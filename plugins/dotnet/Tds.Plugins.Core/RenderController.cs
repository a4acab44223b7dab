using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace Tds.Plugins.Core
{
    /// <summary>A host's view as PNG bytes. Adapters implement it with the host's API (Rhino
    /// ViewCapture, Revit ExportImage, AutoCAD GetSnapshot); call it on the host's UI/API thread.</summary>
    public interface IViewCapture
    {
        /// <summary>The active view's size in pixels.</summary>
        PixelSize ViewSize { get; }

        /// <summary>The active view at about this size (aspect kept). Throws
        /// <see cref="TdsException"/> of kind Capture with a message for the user.</summary>
        byte[] CapturePng(PixelSize size);
    }

    /// <summary>A saved render: where it went, its bytes for the preview, the balance after it.</summary>
    public sealed class RenderResult
    {
        public RenderResult(string savedPath, byte[] image, Render render, int? balance)
        {
            SavedPath = savedPath; Image = image; Render = render; Balance = balance;
        }

        public string SavedPath { get; }
        public byte[] Image { get; }
        public Render Render { get; }
        public int? Balance { get; }
    }

    /// <summary>What every .NET plugin's panel does, with no host types: load option lists, costs and
    /// the balance; capture, render, save next to the model. Adapters bind their UI to it and marshal
    /// its results back to their UI thread.</summary>
    public sealed class RenderController : IDisposable
    {
        readonly ISettingsStore _store;
        readonly string _source;
        readonly Func<ClientOptions, TdsClient> _clientFactory;
        TdsClient _client;
        string _renderInFlight;

        public RenderController(ISettingsStore store, string source, Func<ClientOptions, TdsClient> clientFactory = null)
        {
            _store = store ?? throw new ArgumentNullException(nameof(store));
            _source = source ?? throw new ArgumentNullException(nameof(source));
            _clientFactory = clientFactory ?? (options => new TdsClient(options));
            Settings = store.Load();
        }

        public PluginSettings Settings { get; private set; }
        public Catalogue Catalogue { get; private set; }
        public Account Account { get; private set; }
        public bool IsBusy { get; private set; }

        /// <summary>Cost and balance for the current choices; null until both loaded.</summary>
        public Quote Quote => Catalogue?.Quote(Settings, Account);

        public static string DefaultFallbackDir =>
            Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.MyDocuments), "tds renders");

        /// <summary>New server, key or options: saved (key apart), and the next call uses them. A
        /// null or blank key keeps the stored one.</summary>
        public void SaveSettings(PluginSettings settings)
        {
            var next = settings.Clone();
            if (!next.HasKey) next.ApiKey = Settings.ApiKey;
            var serverChanged = next.ServerUrl != Settings.ServerUrl || next.ApiKey != Settings.ApiKey;
            _store.Save(next);
            Settings = next;
            if (serverChanged)
            {
                Catalogue = null;
                Account = null;
                _client?.Dispose();
                _client = null;
            }
        }

        /// <summary>The project code for the model now active: the one remembered for it, else the one
        /// the model names itself (<paramref name="modelNumber"/>, e.g. Revit's Project Number), else
        /// none. It becomes <see cref="PluginSettings.Project"/> and is returned.</summary>
        public string LoadProject(string modelPath, string modelNumber = null)
        {
            var next = Settings.Clone();
            next.Project = Settings.ProjectFor(modelPath) ?? modelNumber;
            Settings = next;
            return next.Project;
        }

        /// <summary>The project code typed for a model: used by the next render and, with
        /// <paramref name="remember"/>, remembered for the model in the user's settings (only a change
        /// is saved). A host that keeps it in the model file itself (Rhino) passes false.</summary>
        public void SetProject(string modelPath, string project, bool remember = true)
        {
            var next = Settings.Clone();
            next.Project = project;
            var changed = remember && next.ProjectFor(modelPath) != next.Project;
            if (changed) next.RememberProject(modelPath, next.Project);
            if (changed) _store.Save(next);
            Settings = next;
        }

        /// <summary>GET /styles and /me together: option lists, costs and balance before any click.</summary>
        public async Task RefreshAsync(CancellationToken cancel = default)
        {
            var client = Client();
            var styles = client.GetStylesAsync(cancel);
            var me = client.GetMeAsync(cancel);
            Catalogue = await styles.ConfigureAwait(false);
            Account = await me.ConfigureAwait(false);
        }

        /// <summary>The size to capture the view at for the chosen resolution.</summary>
        public PixelSize CaptureSizeFor(PixelSize view) =>
            OutputFiles.CaptureSize(view.Width, view.Height, Catalogue?.LongEdge(Settings.Resolution) ?? 2048);

        /// <summary>Capture on the calling (host) thread. Throws TdsException (Capture).</summary>
        public byte[] Capture(IViewCapture capture)
        {
            var png = capture.CapturePng(CaptureSizeFor(capture.ViewSize));
            if (OutputFiles.PngSize(png) == null) throw new TdsException(TdsErrorKind.Capture, "The host did not produce a PNG of the view.");
            return png;
        }

        /// <summary>Renders captured bytes, downloads the result and saves it next to the model
        /// (or in <paramref name="fallbackDir"/> for an unsaved one). Throws TdsException.</summary>
        public async Task<RenderResult> RenderAsync(byte[] png, string modelPath, string fallbackDir = null,
            IProgress<RenderProgress> progress = null, CancellationToken cancel = default)
        {
            var problems = Settings.Problems();
            if (problems.Count > 0)
                throw Settings.HasKey ? new TdsException(TdsErrorKind.BadRequest, string.Join(" ", problems)) : TdsException.NoKey();
            if (IsBusy) throw new InvalidOperationException("a render is already running");
            IsBusy = true;
            try
            {
                var client = Client();
                var tracking = new Progress(progress, id => _renderInFlight = id);
                var outcome = await client.RenderAsync(png, Settings, null, tracking, cancel).ConfigureAwait(false);
                if (Account != null && outcome.Credits.HasValue) Account.Credits = outcome.Credits.Value;
                progress?.Report(new RenderProgress("downloading", 1, null, outcome.Render.Id, "Downloading the render…"));
                var image = await client.DownloadAsync(outcome.Render.OutputImageUrl, cancel).ConfigureAwait(false);
                var path = OutputFiles.PathFor(modelPath, DateTime.Now, fallbackDir ?? DefaultFallbackDir, OutputFiles.ImageExtension(image));
                try
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(path));
                    File.WriteAllBytes(path, image);
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    throw new TdsException(TdsErrorKind.BadResponse,
                        "Could not save the render (" + e.Message + "). It is at " + outcome.Render.OutputImageUrl, inner: e);
                }
                return new RenderResult(path, image, outcome.Render, outcome.Credits);
            }
            finally
            {
                IsBusy = false;
                _renderInFlight = null;
            }
        }

        /// <summary>Asks the server to stop the render in flight (its own poll then reports Canceled).</summary>
        public async Task CancelAsync()
        {
            var id = _renderInFlight;
            if (id != null) await Client().CancelAsync(id).ConfigureAwait(false);
        }

        public void Dispose() => _client?.Dispose();

        TdsClient Client()
        {
            if (_client == null)
                _client = _clientFactory(new ClientOptions { ServerUrl = Settings.ServerUrl, ApiKey = Settings.ApiKey, Source = _source });
            return _client;
        }

        sealed class Progress : IProgress<RenderProgress>
        {
            readonly IProgress<RenderProgress> _inner;
            readonly Action<string> _renderId;

            public Progress(IProgress<RenderProgress> inner, Action<string> renderId) { _inner = inner; _renderId = renderId; }

            public void Report(RenderProgress value)
            {
                if (value.RenderId != null) _renderId(value.RenderId);
                _inner?.Report(value);
            }
        }
    }
}
