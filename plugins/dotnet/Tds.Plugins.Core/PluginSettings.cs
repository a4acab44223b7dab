using System.Collections.Generic;
using System.Runtime.Serialization;
using System.Text;

namespace Tds.Plugins.Core
{
    /// <summary>What the user chose in the panel. The API key is not a data member: serialising the
    /// options never includes it, and the host keeps it in its own secret store (never in the
    /// model file).</summary>
    [DataContract]
    public sealed class PluginSettings
    {
        public const string DefaultServerUrl = "http://localhost:8000";
        public const int MaxPrompt = 2000;

        string _serverUrl = DefaultServerUrl;
        string _apiKey;

        [DataMember(Name = "server_url", Order = 1)]
        public string ServerUrl
        {
            get { return _serverUrl; }
            set
            {
                var url = (value ?? "").Trim().TrimEnd('/');
                _serverUrl = url.Length == 0 ? DefaultServerUrl : url;
            }
        }

        [DataMember(Name = "scene_type", Order = 2)] public string SceneType { get; set; } = "exterior";
        [DataMember(Name = "architectural_style", Order = 3)] public string ArchitecturalStyle { get; set; }
        [DataMember(Name = "lighting", Order = 4)] public string Lighting { get; set; }
        [DataMember(Name = "resolution", Order = 5)] public string Resolution { get; set; } = "2k";
        [DataMember(Name = "prompt", Order = 6)] public string Prompt { get; set; } = "";
        [DataMember(Name = "place_in_model", Order = 7)] public bool PlaceInModel { get; set; }

        /// <summary>Keys are pasted from a web page: whitespace and quotes that come along are dropped.</summary>
        public string ApiKey
        {
            get { return _apiKey; }
            set
            {
                var key = new StringBuilder();
                foreach (var c in value ?? "")
                {
                    if (!char.IsWhiteSpace(c) && c != '"' && c != '\'') key.Append(c);
                }
                _apiKey = key.Length == 0 ? null : key.ToString();
            }
        }

        public bool HasKey => _apiKey != null;

        [OnDeserializing]
        void Defaults(StreamingContext context)
        {
            _serverUrl = DefaultServerUrl;
            SceneType = "exterior";
            Resolution = "2k";
            Prompt = "";
        }

        /// <summary>The options as JSON, without the key.</summary>
        public string ToJson() => Json.Write(this);

        /// <summary>Options from JSON; anything unreadable gives the defaults.</summary>
        public static PluginSettings FromJson(string json, string apiKey = null)
        {
            var settings = Json.TryParse<PluginSettings>(json) ?? new PluginSettings();
            if (string.IsNullOrWhiteSpace(settings.SceneType)) settings.SceneType = "exterior";
            if (string.IsNullOrWhiteSpace(settings.Resolution)) settings.Resolution = "2k";
            if (settings.Prompt == null) settings.Prompt = "";
            settings.ArchitecturalStyle = Blank(settings.ArchitecturalStyle);
            settings.Lighting = Blank(settings.Lighting);
            settings.ApiKey = apiKey;
            return settings;
        }

        public PluginSettings Clone()
        {
            var copy = FromJson(ToJson(), ApiKey);
            return copy;
        }

        /// <summary>Problems that stop a render before anything is sent, as sentences.</summary>
        public IList<string> Problems()
        {
            var problems = new List<string>();
            if (!HasKey) problems.Add("Paste your API key in the tds settings.");
            if (!(ServerUrl.StartsWith("http://") || ServerUrl.StartsWith("https://")) || ServerUrl.IndexOf(' ') >= 0)
                problems.Add("The server address must start with http:// or https://.");
            if ((Prompt ?? "").Length > MaxPrompt) problems.Add("The prompt is longer than " + MaxPrompt + " characters.");
            return problems;
        }

        static string Blank(string value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }
}
