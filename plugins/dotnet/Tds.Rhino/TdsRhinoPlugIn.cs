using System;
using System.Runtime.InteropServices;
using Rhino.PlugIns;
using Tds.Plugins.Core;

// Rhino identifies a plug-in by this GUID: never change it between releases.
[assembly: Guid("3E8B5D2A-91C4-4F7E-A0B6-5C1D9E2F7A43")]
[assembly: PlugInDescription(DescriptionType.Organization, "tds")]
[assembly: PlugInDescription(DescriptionType.WebSite, "https://github.com/tds/tds/tree/main/plugins")]

namespace Tds.RhinoPlugin
{
    /// <summary>The .rhp's plug-in class. It loads when the TdsRender command first runs.</summary>
    public sealed class TdsRhinoPlugIn : PlugIn
    {
        public TdsRhinoPlugIn()
        {
            Instance = this;
        }

        public static TdsRhinoPlugIn Instance { get; private set; }

        RenderController _controller;

        /// <summary>One controller per Rhino session: settings, option lists and balance live here.</summary>
        public RenderController Controller => _controller ?? (_controller = new RenderController(new RhinoSettingsStore(this), HostSource.Rhino));

        protected override void OnShutdown()
        {
            _controller?.Dispose();
            base.OnShutdown();
        }
    }

    /// <summary>Options in Rhino's per-user plug-in settings, never in the .3dm. The key goes to Windows
    /// Credential Manager on Windows; on macOS it stays in the plug-in settings (a plain-text file
    /// in the user's Library, readable by that user only).</summary>
    public sealed class RhinoSettingsStore : ISettingsStore
    {
        readonly PlugIn _plugIn;
        readonly ISecretStore _secrets;

        public RhinoSettingsStore(PlugIn plugIn)
        {
            _plugIn = plugIn;
            _secrets = Rhino.Runtime.HostUtils.RunningOnWindows
                ? (ISecretStore)new Tds.Plugins.Windows.CredentialStore()
                : new SettingsSecretStore(plugIn);
        }

        public PluginSettings Load()
        {
            return PluginSettings.FromJson(_plugIn.Settings.GetString("options", ""), _secrets.Read());
        }

        public void Save(PluginSettings settings)
        {
            _plugIn.Settings.SetString("options", settings.ToJson());
            _secrets.Write(settings.ApiKey);
            _plugIn.SaveSettings();
        }

        sealed class SettingsSecretStore : ISecretStore
        {
            readonly PlugIn _plugIn;
            public SettingsSecretStore(PlugIn plugIn) { _plugIn = plugIn; }
            public string Read() { var key = _plugIn.Settings.GetString("api_key", ""); return key.Length == 0 ? null : key; }
            public void Write(string secret) => _plugIn.Settings.SetString("api_key", secret ?? "");
        }
    }
}
