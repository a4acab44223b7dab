using System;
using System.IO;
using System.Text;

namespace Tds.Plugins.Core
{
    public interface ISettingsStore
    {
        PluginSettings Load();
        void Save(PluginSettings settings);
    }

    /// <summary>Where the API key lives: Windows Credential Manager, Rhino's settings on macOS, memory in tests.</summary>
    public interface ISecretStore
    {
        /// <summary>The stored key, or null.</summary>
        string Read();
        void Write(string secret);
    }

    public sealed class MemorySecretStore : ISecretStore
    {
        string _secret;
        public MemorySecretStore(string secret = null) { _secret = secret; }
        public string Read() => _secret;
        public void Write(string secret) { _secret = secret; }
    }

    /// <summary>The options as JSON in a per-user file (e.g. %AppData%\tds\revit.json) and the key
    /// in an <see cref="ISecretStore"/>: nothing goes into the model file.</summary>
    public sealed class JsonFileSettingsStore : ISettingsStore
    {
        readonly string _path;
        readonly ISecretStore _secrets;

        public JsonFileSettingsStore(string path, ISecretStore secrets)
        {
            _path = path ?? throw new ArgumentNullException(nameof(path));
            _secrets = secrets ?? throw new ArgumentNullException(nameof(secrets));
        }

        public string Path => _path;

        public PluginSettings Load()
        {
            string json = null;
            try
            {
                if (File.Exists(_path)) json = File.ReadAllText(_path, Encoding.UTF8);
            }
            catch (IOException)
            {
                json = null;
            }
            catch (UnauthorizedAccessException)
            {
                json = null;
            }
            return PluginSettings.FromJson(json, _secrets.Read());
        }

        public void Save(PluginSettings settings)
        {
            var dir = System.IO.Path.GetDirectoryName(_path);
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            var temp = _path + ".tmp";
            File.WriteAllText(temp, settings.ToJson(), new UTF8Encoding(false));
            if (File.Exists(_path)) File.Delete(_path);
            File.Move(temp, _path);
            _secrets.Write(settings.ApiKey);
        }
    }
}
