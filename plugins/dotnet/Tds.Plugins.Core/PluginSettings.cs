using System;
using System.Collections.Generic;
using System.Linq;
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
        public const int MaxProject = 100;
        /// <summary>How many models' project codes are remembered (most recently used kept).</summary>
        public const int MaxRememberedProjects = 200;

        string _serverUrl = DefaultServerUrl;
        string _apiKey;
        string _project;

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

        /// <summary>Per model, the project code its renders were last billed to, most recent first
        /// (hosts that keep it outside the model file: Revit and AutoCAD).</summary>
        [DataMember(Name = "projects", Order = 8, EmitDefaultValue = false)] public List<ModelProject> Projects { get; set; }

        /// <summary>The project code the next render is billed to (null: none). Not a data member: it
        /// belongs to the open model, not to the user's options; see <see cref="ProjectFor"/>.</summary>
        public string Project
        {
            get { return _project; }
            set { _project = Blank(value); }
        }

        /// <summary>The project code remembered for a model (its path; "" for an unsaved one), or null.</summary>
        public string ProjectFor(string modelPath)
        {
            var key = modelPath ?? "";
            return Projects?.FirstOrDefault(p => string.Equals(p.Model, key, StringComparison.OrdinalIgnoreCase))?.Project;
        }

        /// <summary>Remembers (or, blank, forgets) a model's project code, keeping the newest
        /// <see cref="MaxRememberedProjects"/>.</summary>
        public void RememberProject(string modelPath, string project)
        {
            var key = modelPath ?? "";
            var code = Blank(project);
            var rest = (Projects ?? new List<ModelProject>())
                .Where(p => !string.Equals(p.Model, key, StringComparison.OrdinalIgnoreCase)).ToList();
            if (code != null) rest.Insert(0, new ModelProject { Model = key, Project = code });
            Projects = rest.Count == 0 ? null : rest.Take(MaxRememberedProjects).ToList();
        }

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
            copy.Project = Project;
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
            if ((Project ?? "").Length > MaxProject) problems.Add("The project code is longer than " + MaxProject + " characters.");
            return problems;
        }

        static string Blank(string value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    /// <summary>One model's project code in <see cref="PluginSettings.Projects"/>.</summary>
    [DataContract]
    public sealed class ModelProject
    {
        [DataMember(Name = "model", Order = 1)] public string Model { get; set; }
        [DataMember(Name = "project", Order = 2)] public string Project { get; set; }
    }
}
