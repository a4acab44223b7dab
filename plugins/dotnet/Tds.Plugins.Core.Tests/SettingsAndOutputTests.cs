using System;
using System.IO;
using System.Linq;
using NUnit.Framework;
using Tds.Plugins.Core;

namespace Tds.Plugins.Core.Tests
{
    [TestFixture]
    public class SettingsTests
    {
        string _dir;

        [SetUp]
        public void SetUp()
        {
            _dir = Path.Combine(Path.GetTempPath(), "tds-settings-" + Guid.NewGuid().ToString("N"));
        }

        [TearDown]
        public void TearDown()
        {
            if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
        }

        [Test]
        public void DefaultsMatchTheApiDefaults()
        {
            var settings = new PluginSettings();
            Assert.That(settings.SceneType, Is.EqualTo("exterior"));
            Assert.That(settings.Resolution, Is.EqualTo("2k"));
            Assert.That(settings.ServerUrl, Is.EqualTo("http://localhost:8000"));
            Assert.That(settings.HasKey, Is.False);
            Assert.That(PluginSettings.FromJson("{not json").ToJson(), Is.EqualTo(settings.ToJson()));
            Assert.That(PluginSettings.FromJson("{}").Resolution, Is.EqualTo("2k"));
        }

        [Test]
        public void TheKeyIsCleanedAndNeverSerialised()
        {
            var settings = new PluginSettings { ServerUrl = " https://render.example.com/ ", ApiKey = " \"tds_live_abc\"\r\n", Prompt = "a \"quoted\" é" };
            Assert.That(settings.ApiKey, Is.EqualTo("tds_live_abc"));
            Assert.That(settings.ServerUrl, Is.EqualTo("https://render.example.com"));
            Assert.That(settings.ToJson().Contains("tds_live_abc"), Is.False);
            var copy = settings.Clone();
            Assert.That(copy.ApiKey, Is.EqualTo("tds_live_abc"));
            Assert.That(copy.Prompt, Is.EqualTo("a \"quoted\" é"));
        }

        [Test]
        public void TheStoreKeepsTheKeyOutOfTheFile()
        {
            var secrets = new MemorySecretStore();
            var store = new JsonFileSettingsStore(Path.Combine(_dir, "revit.json"), secrets);
            store.Save(new PluginSettings { ApiKey = "tds_live_secret", Lighting = "Night", PlaceInModel = true });
            Assert.That(File.ReadAllText(store.Path).Contains("tds_live_secret"), Is.False);
            Assert.That(secrets.Read(), Is.EqualTo("tds_live_secret"));
            var loaded = store.Load();
            Assert.That(loaded.ApiKey, Is.EqualTo("tds_live_secret"));
            Assert.That(loaded.Lighting, Is.EqualTo("Night"));
            Assert.That(loaded.PlaceInModel, Is.True);
        }

        [Test]
        public void AMissingOrBrokenFileGivesTheDefaults()
        {
            var store = new JsonFileSettingsStore(Path.Combine(_dir, "none.json"), new MemorySecretStore());
            Assert.That(store.Load().ToJson(), Is.EqualTo(new PluginSettings().ToJson()));
            Directory.CreateDirectory(_dir);
            File.WriteAllText(Path.Combine(_dir, "none.json"), "\u0000garbage");
            Assert.That(store.Load().SceneType, Is.EqualTo("exterior"));
        }

        [Test]
        public void ProjectsAreRememberedPerModelNotAsAnOption()
        {
            var settings = new PluginSettings { Project = "  Harbour Lofts  " };
            Assert.That(settings.Project, Is.EqualTo("Harbour Lofts"));
            Assert.That(settings.Clone().Project, Is.EqualTo("Harbour Lofts"));
            Assert.That(settings.ToJson().Contains("Harbour Lofts"), Is.False, "the current project is the model's, not an option");
            settings.Project = new string('x', PluginSettings.MaxProject + 1);
            Assert.That(settings.Problems(), Has.Member("The project code is longer than 100 characters."));
            settings.Project = null;
            settings.RememberProject(@"C:\jobs\a.rvt", "A");
            settings.RememberProject(@"C:\jobs\b.rvt", "B");
            settings.RememberProject(@"C:\JOBS\A.RVT", "A2");
            Assert.That(settings.ProjectFor(@"c:\jobs\a.rvt"), Is.EqualTo("A2"));
            Assert.That(settings.Projects.Count, Is.EqualTo(2));
            Assert.That(settings.Projects[0].Project, Is.EqualTo("A2"), "most recent first");
            var loaded = PluginSettings.FromJson(settings.ToJson());
            Assert.That(loaded.ProjectFor(@"C:\jobs\b.rvt"), Is.EqualTo("B"));
            Assert.That(loaded.Project, Is.Null);
            for (var n = 0; n < PluginSettings.MaxRememberedProjects + 5; n++) loaded.RememberProject("m" + n, "p" + n);
            Assert.That(loaded.Projects.Count, Is.EqualTo(PluginSettings.MaxRememberedProjects));
            Assert.That(loaded.ProjectFor(@"C:\jobs\b.rvt"), Is.Null, "the oldest go");
            loaded.RememberProject("m3", " ");
            Assert.That(loaded.ProjectFor("m3"), Is.Null);
        }

        [Test]
        public void ProblemsNameWhatStopsARender()
        {
            Check.Contains(string.Join(" ", new PluginSettings().Problems()), "API key");
            var bad = new PluginSettings { ApiKey = "k", ServerUrl = "ftp://x", Prompt = new string('a', 2001) };
            Assert.That(bad.Problems().Count, Is.EqualTo(2));
            Assert.That(new PluginSettings { ApiKey = "k" }.Problems().Count, Is.EqualTo(0));
        }
    }

    [TestFixture]
    public class OutputTests
    {
        static readonly DateTime Time = new DateTime(2026, 11, 28, 13, 49, 6);
        static readonly string Dir = Path.Combine(Path.GetTempPath(), "work");

        [Test]
        public void ResultsGoNextToTheModel()
        {
            var path = OutputFiles.PathFor(Path.Combine(Dir, "house.3dm"), Time, null, ".jpg", p => false);
            Assert.That(path, Is.EqualTo(Path.Combine(Dir, "house-tds-20261128-134906.jpg")));
        }

        [Test]
        public void ExistingFilesAreNeverOverwritten()
        {
            var taken = new[] { Path.Combine(Dir, "house-tds-20261128-134906.jpg"), Path.Combine(Dir, "house-tds-20261128-134906-2.jpg") };
            var path = OutputFiles.PathFor(Path.Combine(Dir, "house.rvt"), Time, null, ".jpg", taken.Contains);
            Assert.That(path, Is.EqualTo(Path.Combine(Dir, "house-tds-20261128-134906-3.jpg")));
        }

        [Test]
        public void UnsavedModelsUseTheFallbackFolder()
        {
            Assert.That(OutputFiles.PathFor("", Time, Dir, ".png", p => false), Is.EqualTo(Path.Combine(Dir, "untitled-tds-20261128-134906.png")));
            Assert.Throws<ArgumentException>(() => OutputFiles.PathFor(null, Time, null));
        }

        [Test]
        public void OddModelNamesAreMadeSafeAsInSketchUp()
        {
            var path = OutputFiles.PathFor(Path.Combine(Dir, "a#b*c?.dwg"), Time, null, ".jpg", p => false);
            Assert.That(Path.GetFileName(path), Is.EqualTo("a_b_c_-tds-20261128-134906.jpg"));
        }

        [Test]
        public void CaptureSizeKeepsTheAspect()
        {
            Assert.That(OutputFiles.CaptureSize(1600, 900, 2048), Is.EqualTo(new PixelSize(2048, 1152)));
            Assert.That(OutputFiles.CaptureSize(1600, 900, 1024), Is.EqualTo(new PixelSize(1024, 576)));
            Assert.That(OutputFiles.CaptureSize(1600, 900, 4096), Is.EqualTo(new PixelSize(2048, 1152)));
            Assert.That(OutputFiles.CaptureSize(10, 1000, 1024), Is.EqualTo(new PixelSize(16, 1024)));
            Assert.Throws<ArgumentException>(() => OutputFiles.CaptureSize(0, 10, 1024));
        }

        [Test]
        public void ImageSniffing()
        {
            var png = Fake.Png();
            Assert.That(OutputFiles.PngSize(png), Is.EqualTo((PixelSize?)new PixelSize(64, 48)));
            Assert.That(OutputFiles.PngSize(new byte[30]), Is.Null);
            Assert.That(OutputFiles.ImageExtension(png), Is.EqualTo(".png"));
            Assert.That(OutputFiles.ImageExtension(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0, 0, 0, 0, 0, 0 }), Is.EqualTo(".jpg"));
            Assert.That(OutputFiles.ImageExtension(System.Text.Encoding.ASCII.GetBytes("<html></html>")), Is.Null);
        }
    }
}
