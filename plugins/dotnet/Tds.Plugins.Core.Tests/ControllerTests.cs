using System;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;
using NUnit.Framework;
using Tds.Plugins.Core;

namespace Tds.Plugins.Core.Tests
{
    /// <summary>A view capture that hands back the vector's PNG and remembers the size asked for.</summary>
    public sealed class FakeCapture : IViewCapture
    {
        public PixelSize ViewSize { get; set; } = new PixelSize(1600, 900);
        public PixelSize? Asked;
        public byte[] Png = Fake.Png();
        public byte[] CapturePng(PixelSize size) { Asked = size; return Png; }
    }

    /// <summary>The panel logic every .NET host shares, over the fake handler.</summary>
    [TestFixture]
    public class ControllerTests
    {
        static readonly byte[] Jpeg = { 0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0, 0, 0, 0, 0, 0, 42 };
        FakeHandler _handler;
        string _dir;
        MemorySecretStore _secrets;

        [SetUp]
        public void SetUp()
        {
            _handler = new FakeHandler();
            _dir = Path.Combine(Path.GetTempPath(), "tds-controller-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_dir);
            _secrets = new MemorySecretStore();
        }

        [TearDown]
        public void TearDown() => Directory.Delete(_dir, true);

        RenderController Controller(string key = "tds_live_key", string resolution = "1k", bool keepSettings = false)
        {
            var store = new JsonFileSettingsStore(Path.Combine(_dir, "settings", "autocad.json"), _secrets);
            if (!keepSettings) store.Save(new PluginSettings { ServerUrl = Fake.Server, ApiKey = key, Resolution = resolution });
            return new RenderController(store, HostSource.AutoCad, options =>
            {
                options.Delay = (d, c) => Task.FromResult(0);
                return new TdsClient(options, _handler);
            });
        }

        [Test]
        public async Task RefreshShowsCostAndBalanceBeforeTheClick()
        {
            _handler.ThenVector("styles").ThenVector("me");
            using (var controller = Controller())
            {
                Assert.That(controller.Quote, Is.Null);
                await controller.RefreshAsync();
                var balance = Contract.Body<Account>("me").Credits;
                Assert.That(controller.Quote.Text, Is.EqualTo("5 credits · balance " + balance));
                Assert.That(controller.Quote.Ok, Is.True);
                controller.Settings.Resolution = "2k";
                Assert.That(controller.Quote.Cost, Is.EqualTo(10));
            }
        }

        [Test]
        public async Task ACaptureIsSizedForTheResolution()
        {
            _handler.ThenVector("styles").ThenVector("me");
            using (var controller = Controller())
            {
                var capture = new FakeCapture();
                controller.Capture(capture);
                Assert.That(capture.Asked, Is.EqualTo((PixelSize?)new PixelSize(2048, 1152)), "before /styles loaded: 2048");
                await controller.RefreshAsync();
                controller.Capture(capture);
                Assert.That(capture.Asked, Is.EqualTo((PixelSize?)new PixelSize(1024, 576)));
                capture.Png = new byte[] { 1, 2, 3 };
                var error = Assert.Throws<TdsException>(() => controller.Capture(capture));
                Assert.That(error.Kind, Is.EqualTo(TdsErrorKind.Capture));
            }
        }

        [Test]
        public async Task ARenderIsSavedNextToTheModel()
        {
            _handler.ThenVector("styles").ThenVector("me").ThenVector("render_done").ThenBytes(Jpeg);
            var model = Path.Combine(_dir, "tower.dwg");
            using (var controller = Controller())
            {
                await controller.RefreshAsync();
                var seen = new List<RenderProgress>();
                var result = await controller.RenderAsync(controller.Capture(new FakeCapture()), model, null, new SyncProgress(seen));
                Assert.That(Path.GetDirectoryName(result.SavedPath), Is.EqualTo(_dir));
                Check.Contains(Path.GetFileName(result.SavedPath), "tower-tds-");
                Check.EndsWith(result.SavedPath, ".jpg");
                Assert.That(File.ReadAllBytes(result.SavedPath), Is.EqualTo(Jpeg));
                Assert.That(result.Image, Is.EqualTo(Jpeg));
                var done = Contract.Body<RenderEnvelope>("render_done");
                Assert.That(controller.Account.Credits, Is.EqualTo(done.Credits));
                Assert.That(result.Balance, Is.EqualTo(done.Credits));
                Assert.That(controller.IsBusy, Is.False);
                Assert.That(seen[seen.Count - 1].Text, Is.EqualTo("Downloading the render…"));
            }
            var post = _handler.Requests[2];
            Assert.That(Contract.ParseTree(post.Body).Element("source").Value, Is.EqualTo("autocad"));
            Assert.That(_handler.Requests[3].Url, Is.EqualTo(Contract.Body<RenderEnvelope>("render_done").Render.OutputImageUrl));
        }

        [Test]
        public async Task EachModelKeepsItsProjectAndItIsSent()
        {
            _handler.ThenVector("render_done").ThenBytes(Jpeg).ThenVector("render_done").ThenBytes(Jpeg);
            var tower = Path.Combine(_dir, "tower.rvt");
            var villa = Path.Combine(_dir, "villa.rvt");
            using (var controller = Controller())
            {
                Assert.That(controller.LoadProject(tower), Is.Null);
                Assert.That(controller.LoadProject(villa, "2026-031"), Is.EqualTo("2026-031"), "the model's own number first");
                controller.SetProject(tower, " 2026-017 Harbour Lofts ");
                await controller.RenderAsync(Fake.Png(), tower);
                controller.LoadProject(villa);
                Assert.That(controller.Settings.Project, Is.Null);
                await controller.RenderAsync(Fake.Png(), villa);
            }
            Assert.That(Contract.ParseTree(_handler.Requests[0].Body).Element("project").Value, Is.EqualTo("2026-017 Harbour Lofts"));
            Assert.That(Contract.ParseTree(_handler.Requests[2].Body).Element("project"), Is.Null);
            using (var again = Controller(keepSettings: true)) // the next session: remembered per model
            {
                Assert.That(again.LoadProject(tower, "2026-099"), Is.EqualTo("2026-017 Harbour Lofts"));
                Assert.That(again.LoadProject(villa), Is.Null);
                again.SetProject(tower, "");
                Assert.That(again.LoadProject(tower), Is.Null, "cleared: forgotten");
            }
        }

        [Test]
        public async Task AnUnsavedModelGoesToTheFallbackFolder()
        {
            _handler.ThenVector("render_done").ThenBytes(Jpeg);
            var fallback = Path.Combine(_dir, "tds renders");
            using (var controller = Controller())
            {
                var result = await controller.RenderAsync(Fake.Png(), "", fallback);
                Assert.That(Path.GetDirectoryName(result.SavedPath), Is.EqualTo(fallback));
            }
        }

        [Test]
        public async Task NothingIsSentWithoutAKey()
        {
            using (var controller = Controller(key: null))
            {
                var error = await Fake.Fails(() => controller.RenderAsync(Fake.Png(), ""));
                Assert.That(error.Kind, Is.EqualTo(TdsErrorKind.NoKey));
            }
            Assert.That(_handler.Requests.Count, Is.EqualTo(0));
        }

        [Test]
        public async Task SavingSettingsKeepsTheKeyAndResetsTheBalance()
        {
            _handler.ThenVector("styles").ThenVector("me");
            using (var controller = Controller())
            {
                await controller.RefreshAsync();
                var next = controller.Settings.Clone();
                next.ApiKey = "";
                next.Lighting = "Night";
                controller.SaveSettings(next);
                Assert.That(controller.Settings.ApiKey, Is.EqualTo("tds_live_key"));
                Assert.That(controller.Account, Is.Not.Null, "same server and key: the balance stays");
                next = controller.Settings.Clone();
                next.ApiKey = "tds_live_other";
                controller.SaveSettings(next);
                Assert.That(controller.Account, Is.Null);
                Assert.That(_secrets.Read(), Is.EqualTo("tds_live_other"));
            }
        }
    }
}
