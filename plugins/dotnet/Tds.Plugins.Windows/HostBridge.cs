using System;
using System.IO;
using Tds.Plugins.Core;

namespace Tds.Plugins.Windows
{
    /// <summary>The view as PNG bytes, with the model's path (empty when unsaved), or why not.</summary>
    public sealed class CaptureResult
    {
        public CaptureResult(byte[] png, string modelPath) { Png = png; ModelPath = modelPath ?? ""; }
        public CaptureResult(TdsException error) { Error = error; ModelPath = ""; }

        public byte[] Png { get; }
        public string ModelPath { get; }
        public TdsException Error { get; }
    }

    /// <summary>The model the window works for: its path ("" when unsaved or none is open) and a
    /// project code the model names itself (Revit's Project Number; null: none).</summary>
    public sealed class ModelInfo
    {
        public ModelInfo(string path, string projectNumber = null) { Path = path ?? ""; ProjectNumber = projectNumber; }

        public string Path { get; }
        public string ProjectNumber { get; }
    }

    /// <summary>What <see cref="RenderWindow"/> needs from a host. Each call runs in the host's API
    /// context (a Revit ExternalEvent, AutoCAD's document lock) and calls back on the window's UI
    /// thread.</summary>
    public interface IHostBridge
    {
        /// <summary>"Revit", "AutoCAD": shown in titles and messages.</summary>
        string HostName { get; }

        void Capture(RenderController controller, Action<CaptureResult> done);

        /// <summary>The active model, read on the window's UI thread (when the window opens or comes
        /// back to the front) to show and keep that model's project code.</summary>
        ModelInfo ActiveModel();

        /// <summary>Places a saved render in the model as an image; <c>done(null)</c> on success.</summary>
        void PlaceImage(string path, Action<Exception> done);
    }

    /// <summary>Per-user settings for a Windows host: options (and each model's project code, by its
    /// path) in %AppData%\tds\&lt;host&gt;.json, the key in Windows Credential Manager. Nothing is
    /// written into the model.</summary>
    public static class WindowsSettings
    {
        public static JsonFileSettingsStore For(string host)
        {
            var dir = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData), "tds");
            return new JsonFileSettingsStore(Path.Combine(dir, host + ".json"), new CredentialStore());
        }
    }
}
