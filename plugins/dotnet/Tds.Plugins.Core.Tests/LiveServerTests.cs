using System;
using System.IO;
using System.Threading.Tasks;
using NUnit.Framework;
using Tds.Plugins.Core;

namespace Tds.Plugins.Core.Tests
{
    /// <summary>The core over real HTTP against a tds server. tests/plugins/test_dotnet.py starts one on
    /// loopback and passes TDS_TEST_URL, TDS_TEST_KEY (credits), TDS_TEST_EMPTY_KEY (none) and
    /// TDS_TEST_IMAGE (a PNG); without them these are ignored.</summary>
    [TestFixture]
    public class LiveServerTests
    {
        string _url, _key, _emptyKey;
        byte[] _png;

        [SetUp]
        public void SetUp()
        {
            _url = Environment.GetEnvironmentVariable("TDS_TEST_URL");
            _key = Environment.GetEnvironmentVariable("TDS_TEST_KEY");
            _emptyKey = Environment.GetEnvironmentVariable("TDS_TEST_EMPTY_KEY");
            var image = Environment.GetEnvironmentVariable("TDS_TEST_IMAGE");
            if (string.IsNullOrEmpty(_url) || string.IsNullOrEmpty(_key) || string.IsNullOrEmpty(_emptyKey) || string.IsNullOrEmpty(image))
                Assert.Ignore("live tests need TDS_TEST_URL, TDS_TEST_KEY, TDS_TEST_EMPTY_KEY and TDS_TEST_IMAGE");
            _png = File.ReadAllBytes(image);
        }

        TdsClient Client(string key, string source = HostSource.Revit, int wait = 10)
        {
            return new TdsClient(new ClientOptions
            {
                ServerUrl = _url, ApiKey = key, Source = source, WaitSeconds = wait, PollInterval = TimeSpan.FromMilliseconds(100),
            });
        }

        PluginSettings Settings(string key) => new PluginSettings
        {
            ServerUrl = _url, ApiKey = key, Resolution = "1k", ArchitecturalStyle = "Brutalist", Lighting = "Overcast",
        };

        [Test]
        public async Task MeAndStylesGiveBalanceAndCosts()
        {
            using (var client = Client(_key))
            {
                var me = await client.GetMeAsync();
                Assert.That(me.Credits, Is.GreaterThan(0));
                var styles = await client.GetStylesAsync();
                Assert.That(styles.Cost("render", "1k"), Is.EqualTo(5));
                Assert.That(styles.Quote(Settings(_key), me).Ok, Is.True);
            }
        }

        [TestCase(HostSource.Rhino)]
        [TestCase(HostSource.Revit)]
        [TestCase(HostSource.AutoCad)]
        public async Task ARenderSucceedsAndDownloads(string host)
        {
            using (var client = Client(_key, host))
            {
                var before = (await client.GetMeAsync()).Credits;
                var outcome = await client.RenderAsync(_png, Settings(_key));
                Assert.That(outcome.Render.Status, Is.EqualTo("done"));
                Assert.That(outcome.Render.Source, Is.EqualTo(host));
                Assert.That(outcome.Render.ArchitecturalStyle, Is.EqualTo("Brutalist"));
                Assert.That(outcome.Credits, Is.EqualTo(before - outcome.Render.CreditsUsed));
                var image = await client.DownloadAsync(outcome.Render.OutputImageUrl);
                Assert.That(OutputFiles.ImageExtension(image), Is.EqualTo(".jpg"));
            }
        }

        [Test]
        public async Task ARenderPastTheWaitIsPolledToTheEnd()
        {
            var seen = new System.Collections.Generic.List<RenderProgress>();
            using (var client = Client(_key, wait: 0))
            {
                var outcome = await client.RenderAsync(_png, Settings(_key), progress: new SyncProgress(seen));
                Assert.That(outcome.Render.Status, Is.EqualTo("done"));
            }
            Assert.That(seen.Count, Is.GreaterThan(0), "a 202 answer is followed by polls");
        }

        [Test]
        public async Task TheSameIdempotencyKeyNeverChargesTwice()
        {
            var key = RenderRequest.NewIdempotencyKey();
            using (var client = Client(_key))
            {
                var first = await client.RenderAsync(_png, Settings(_key), key);
                var second = await client.RenderAsync(_png, Settings(_key), key);
                Assert.That(second.Render.Id, Is.EqualTo(first.Render.Id));
                Assert.That((await client.GetMeAsync()).Credits, Is.EqualTo(first.Credits));
            }
        }

        [Test]
        public async Task AWrongKeyIsInvalidKey()
        {
            using (var client = Client("tds_live_not_a_key"))
            {
                var me = await Fake.Fails(() => client.GetMeAsync());
                Assert.That(me.Kind, Is.EqualTo(TdsErrorKind.InvalidKey));
                Assert.That(me.Status, Is.EqualTo(401));
                var render = await Fake.Fails(() => client.RenderAsync(_png, Settings("tds_live_not_a_key")));
                Assert.That(render.Kind, Is.EqualTo(TdsErrorKind.InvalidKey));
            }
        }

        [Test]
        public async Task AnEmptyAccountIsNoCredits()
        {
            using (var client = Client(_emptyKey))
            {
                var error = await Fake.Fails(() => client.RenderAsync(_png, Settings(_emptyKey)));
                Assert.That(error.Kind, Is.EqualTo(TdsErrorKind.NoCredits));
                Assert.That(error.Status, Is.EqualTo(402));
                Check.Contains(error.Detail, "0 available");
            }
        }

        [Test]
        public async Task TheControllerRendersAndSavesNextToTheModel()
        {
            var dir = Path.Combine(Path.GetTempPath(), "tds-live-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                var store = new JsonFileSettingsStore(Path.Combine(dir, "rhino.json"), new MemorySecretStore());
                store.Save(Settings(_key));
                using (var controller = new RenderController(store, HostSource.Rhino))
                {
                    await controller.RefreshAsync();
                    Assert.That(controller.Quote.Ok, Is.True, controller.Quote.Text);
                    controller.SetProject(Path.Combine(dir, "villa.3dm"), "Villa 12");
                    var result = await controller.RenderAsync(_png, Path.Combine(dir, "villa.3dm"));
                    Assert.That(result.Render.Project, Is.EqualTo("Villa 12"), "the server billed it to the project");
                    Assert.That(Path.GetDirectoryName(result.SavedPath), Is.EqualTo(dir));
                    Assert.That(OutputFiles.ImageExtension(File.ReadAllBytes(result.SavedPath)), Is.EqualTo(".jpg"));
                }
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [Test]
        public async Task AClosedPortIsNoConnection()
        {
            var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start();
            var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            var options = Fake.Options();
            options.ServerUrl = "http://127.0.0.1:" + port;
            using (var client = new TdsClient(options))
            {
                var error = await Fake.Fails(() => client.GetMeAsync());
                Assert.That(error.Kind, Is.EqualTo(TdsErrorKind.Network));
            }
        }
    }
}
