using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using Tds.Plugins.Core;

namespace Tds.Plugins.Core.Tests
{
    /// <summary>TdsClient over a fake HttpMessageHandler: polling, retries, timeouts, 5xx, errors.</summary>
    [TestFixture]
    public class ClientTests
    {
        FakeHandler _handler;
        List<TimeSpan> _delays;
        PluginSettings _settings;

        [SetUp]
        public void SetUp()
        {
            _handler = new FakeHandler();
            _delays = new List<TimeSpan>();
            _settings = new PluginSettings { ArchitecturalStyle = "Modern", ApiKey = "tds_live_key" };
        }

        TdsClient Client(Action<ClientOptions> tweak = null)
        {
            var options = Fake.Options(_delays);
            tweak?.Invoke(options);
            return new TdsClient(options, _handler);
        }

        static string Queued(string status, int value)
        {
            return Contract.BodyJson("render_queued")
                .Replace("\"status\":\"queued\"", "\"status\":\"" + status + "\"")
                .Replace("\"progress\":{\"value\":0,\"max\":0}", "\"progress\":{\"value\":" + value + ",\"max\":4}");
        }

        [Test]
        public async Task MeAndStyles()
        {
            _handler.ThenVector("me").ThenVector("styles");
            using (var client = Client())
            {
                var me = await client.GetMeAsync();
                var styles = await client.GetStylesAsync();
                Assert.That(me.Credits, Is.EqualTo(Contract.Body<Account>("me").Credits));
                Assert.That(styles.Cost("render", "1k"), Is.EqualTo(5));
            }
            Assert.That(_handler.Requests.Select(r => r.Url).ToArray(),
                Is.EqualTo(new[] { Fake.Server + "/api/v1/me", Fake.Server + "/api/v1/styles" }));
            Assert.That(_handler.Requests[0].Headers["Authorization"], Is.EqualTo("Bearer tds_live_key"));
            Check.Contains(_handler.Requests[0].Headers["User-Agent"], "tds-rhino/");
        }

        [Test]
        public async Task ADoneAnswerFinishesInOneRequest()
        {
            _handler.ThenVector("render_done");
            RenderOutcome outcome;
            using (var client = Client()) outcome = await client.RenderAsync(Fake.Png(), _settings);
            var done = Contract.Body<RenderEnvelope>("render_done");
            Assert.That(outcome.Render.Id, Is.EqualTo(done.Render.Id));
            Assert.That(outcome.Credits, Is.EqualTo(done.Credits));
            var sent = _handler.Requests.Single();
            Assert.That(sent.Method.Method, Is.EqualTo("POST"));
            Assert.That(sent.Url, Is.EqualTo(Fake.Server + "/api/v1/renders"));
            Assert.That(sent.Headers["Prefer"], Is.EqualTo(Contract.Header("render_request", "Prefer")));
            Assert.That(Guid.TryParse(sent.Headers["Idempotency-Key"], out _), Is.True);
            Check.Contains(sent.Headers["Content-Type"], "application/json");
            var body = Contract.ParseTree(sent.Body);
            Assert.That(body.Element("source").Value, Is.EqualTo("rhino"));
            Assert.That(body.Element("architectural_style").Value, Is.EqualTo("Modern"));
        }

        [Test]
        public async Task AQueuedRenderIsPolledToTheEndWithProgress()
        {
            _handler.ThenVector("render_queued").Then(200, Queued("processing", 1)).Then(200, Queued("processing", 3)).ThenVector("render_done");
            var seen = new List<RenderProgress>();
            using (var client = Client())
                await client.RenderAsync(Fake.Png(), _settings, progress: new SyncProgress(seen));
            var id = Contract.Body<RenderEnvelope>("render_queued").Render.Id;
            Assert.That(_handler.Requests.Skip(1).Select(r => r.Url).ToArray(),
                Is.EqualTo(Enumerable.Repeat(Fake.Server + "/api/v1/renders/" + id, 3).ToArray()));
            Assert.That(seen.Select(p => p.Status).ToArray(), Is.EqualTo(new[] { "queued", "processing", "processing" }));
            Assert.That(seen.Select(p => p.Fraction).ToArray(), Is.EqualTo(new double?[] { null, 0.25, 0.75 }));
            Assert.That(seen[2].Text, Is.EqualTo("Rendering… 75 %"));
            Assert.That(_delays, Is.EqualTo(Enumerable.Repeat(TimeSpan.FromSeconds(1.5), 3).ToList()));
        }

        [Test]
        public async Task ARenderThatFailsWhilePolledReportsTheRefund()
        {
            var failed = Queued("failed", 2).Replace("\"error\":null", "\"error\":{\"code\":\"model_failed\",\"message\":\"Out of memory.\"}");
            _handler.ThenVector("render_queued").Then(200, failed);
            using (var client = Client())
            {
                var error = await Fake.Fails(() => client.RenderAsync(Fake.Png(), _settings));
                Assert.That(error.Kind, Is.EqualTo(TdsErrorKind.RenderFailed));
                Assert.That(error.Detail, Is.EqualTo("Out of memory. Your credits were refunded."));
                Assert.That(error.RenderId, Is.EqualTo(Contract.Body<RenderEnvelope>("render_queued").Render.Id));
            }
        }

        [Test]
        public async Task ServerErrorsAreRetriedWithTheSameIdempotencyKey()
        {
            _handler.Then(503, "{\"error\":{\"code\":\"model_unavailable\",\"message\":\"Queue full.\"}}", retryAfter: "2")
                .ThenDrop()
                .ThenVector("render_done");
            var seen = new List<RenderProgress>();
            using (var client = Client())
                await client.RenderAsync(Fake.Png(), _settings, progress: new SyncProgress(seen));
            var keys = _handler.Requests.Select(r => r.Headers["Idempotency-Key"]).ToArray();
            Assert.That(keys.Length, Is.EqualTo(3));
            Assert.That(keys.Distinct().Count(), Is.EqualTo(1));
            Assert.That(_delays, Is.EqualTo(new List<TimeSpan> { TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2) }));
            Assert.That(seen.Select(p => p.Status).ToArray(), Is.EqualTo(new[] { "retrying", "retrying" }));
        }

        [Test]
        public async Task FiveHundredsStopAfterMaxRetries()
        {
            _handler.Then(500, "Internal Server Error", contentType: "text/plain")
                .Then(502, "<html>Bad Gateway</html>", contentType: "text/html")
                .Then(504, "<html>Gateway Timeout</html>", contentType: "text/html");
            using (var client = Client())
            {
                var error = await Fake.Fails(() => client.RenderAsync(Fake.Png(), _settings));
                Assert.That(error.Kind, Is.EqualTo(TdsErrorKind.Server));
                Assert.That(error.Status, Is.EqualTo(504));
                Check.Contains(error.Detail, "HTTP 504");
            }
            Assert.That(_handler.Requests.Count, Is.EqualTo(3));
            Assert.That(_delays, Is.EqualTo(new List<TimeSpan> { TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2) }));
        }

        [Test]
        public async Task ARequestWithoutAnAnswerTimesOut()
        {
            _handler.ThenHang();
            using (var client = Client(o => o.GetTimeout = TimeSpan.FromMilliseconds(200)))
            {
                var error = await Fake.Fails(() => client.GetMeAsync());
                Assert.That(error.Kind, Is.EqualTo(TdsErrorKind.Timeout));
                Check.Contains(error.Detail, Fake.Server);
            }
        }

        [Test]
        public async Task ARenderTimeoutIsRetriedThenReported()
        {
            _handler.ThenHang().ThenHang().ThenHang();
            using (var client = Client(o => o.PostTimeout = TimeSpan.FromMilliseconds(100)))
            {
                var error = await Fake.Fails(() => client.RenderAsync(Fake.Png(), _settings));
                Assert.That(error.Kind, Is.EqualTo(TdsErrorKind.Timeout));
            }
            Assert.That(_handler.Requests.Select(r => r.Headers["Idempotency-Key"]).Distinct().Count(), Is.EqualTo(1));
            Assert.That(_handler.Requests.Count, Is.EqualTo(3));
        }

        [Test]
        public async Task CancelingIsNotATimeout()
        {
            _handler.ThenHang();
            using (var cancel = new CancellationTokenSource())
            using (var client = Client())
            {
                var call = client.GetMeAsync(cancel.Token);
                cancel.Cancel();
                try
                {
                    await call;
                    Assert.Fail("expected a cancellation");
                }
                catch (OperationCanceledException)
                {
                    Assert.That(call.IsCanceled, Is.True);
                }
            }
        }

        [Test]
        public async Task NoConnectionIsANetworkError()
        {
            _handler.ThenDrop();
            using (var client = Client())
            {
                var error = await Fake.Fails(() => client.GetStylesAsync());
                Assert.That(error.Kind, Is.EqualTo(TdsErrorKind.Network));
                Check.Contains(error.Message, "Could not reach " + Fake.Server);
            }
        }

        [Test]
        public async Task ALongRetryAfterIsShownNotWaitedFor()
        {
            _handler.ThenVector("error_429");
            using (var client = Client())
            {
                var error = await Fake.Fails(() => client.RenderAsync(Fake.Png(), _settings));
                Assert.That(error.Kind, Is.EqualTo(TdsErrorKind.RateLimited));
                Check.Contains(error.Detail, "60 s");
            }
            Assert.That(_delays.Count, Is.EqualTo(0));
        }

        [Test]
        public async Task AShortRetryAfterIsWaitedFor()
        {
            _handler.Then(429, Contract.BodyJson("error_429"), retryAfter: "1").ThenVector("render_done");
            using (var client = Client()) await client.RenderAsync(Fake.Png(), _settings);
            Assert.That(_delays, Is.EqualTo(new List<TimeSpan> { TimeSpan.FromSeconds(1) }));
        }

        [TestCase("error_401", TdsErrorKind.InvalidKey)]
        [TestCase("error_402", TdsErrorKind.NoCredits)]
        [TestCase("error_400", TdsErrorKind.BadRequest)]
        public async Task ErrorsThatRetryingCannotFixAreReportedAtOnce(string vector, TdsErrorKind kind)
        {
            _handler.ThenVector(vector);
            using (var client = Client())
            {
                var error = await Fake.Fails(() => client.RenderAsync(Fake.Png(), _settings));
                Assert.That(error.Kind, Is.EqualTo(kind));
                Assert.That(error.Status, Is.EqualTo(Contract.Status(vector)));
            }
            Assert.That(_handler.Requests.Count, Is.EqualTo(1));
        }

        [Test]
        public async Task WithoutAKeyNothingIsSent()
        {
            using (var client = new TdsClient(Fake.Options(_delays, key: null), _handler))
            {
                Assert.That((await Fake.Fails(() => client.GetMeAsync())).Kind, Is.EqualTo(TdsErrorKind.NoKey));
                Assert.That((await Fake.Fails(() => client.RenderAsync(Fake.Png(), _settings))).Kind, Is.EqualTo(TdsErrorKind.NoKey));
            }
            Assert.That(_handler.Requests.Count, Is.EqualTo(0));
        }

        [Test]
        public async Task PollingStopsAtTheDeadline()
        {
            var now = new DateTime(2026, 1, 1);
            _handler.ThenVector("render_queued").Then((request, cancel) =>
            {
                now = now.AddMinutes(20);
                return Task.FromResult(FakeHandler.Response(200, Queued("processing", 1)));
            });
            using (var client = Client(o => o.UtcNow = () => now))
            {
                var error = await Fake.Fails(() => client.RenderAsync(Fake.Png(), _settings));
                Assert.That(error.Kind, Is.EqualTo(TdsErrorKind.StillRunning));
                Check.Contains(error.Detail, "still running");
            }
        }

        [Test]
        public async Task AFailedPollIsTolerated()
        {
            _handler.ThenVector("render_queued").ThenDrop().Then(502, "<html>Bad Gateway</html>", contentType: "text/html").ThenVector("render_done");
            using (var client = Client())
                Assert.That((await client.RenderAsync(Fake.Png(), _settings)).Render.Status, Is.EqualTo("done"));
        }

        [Test]
        public async Task TooManyFailedPollsGiveUp()
        {
            _handler.ThenVector("render_queued").ThenDrop().ThenDrop().ThenDrop();
            using (var client = Client())
                Assert.That((await Fake.Fails(() => client.RenderAsync(Fake.Png(), _settings))).Kind, Is.EqualTo(TdsErrorKind.Network));
        }

        [Test]
        public async Task AnAnswerThatIsNotFromTds()
        {
            _handler.Then(200, "<html>captive portal</html>", contentType: "text/html").Then(200, "[]");
            using (var client = Client())
            {
                Assert.That((await Fake.Fails(() => client.RenderAsync(Fake.Png(), _settings))).Kind, Is.EqualTo(TdsErrorKind.BadResponse));
                Assert.That((await Fake.Fails(() => client.GetMeAsync())).Kind, Is.EqualTo(TdsErrorKind.BadResponse));
            }
        }

        [Test]
        public async Task DownloadSendsTheKeyOnlyToTheApiHost()
        {
            var jpeg = new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
            _handler.ThenBytes(jpeg).ThenBytes(jpeg).Then(200, "<html>", contentType: "text/html").Then(404, "");
            using (var client = Client())
            {
                Assert.That(await client.DownloadAsync(Fake.Server + "/files/renders/a.jpg"), Is.EqualTo(jpeg));
                Assert.That(await client.DownloadAsync("https://cdn.example.net/a.jpg"), Is.EqualTo(jpeg));
                Assert.That((await Fake.Fails(() => client.DownloadAsync(Fake.Server + "/x"))).Kind, Is.EqualTo(TdsErrorKind.BadResponse));
                Assert.That((await Fake.Fails(() => client.DownloadAsync(Fake.Server + "/x"))).Kind, Is.EqualTo(TdsErrorKind.NotFound));
            }
            Assert.That(_handler.Requests[0].Headers.ContainsKey("Authorization"), Is.True);
            Assert.That(_handler.Requests[1].Headers.ContainsKey("Authorization"), Is.False);
        }

        [Test]
        public async Task CancelPostsToTheRender()
        {
            _handler.Then(200, Contract.BodyJson("render_queued"));
            using (var client = Client()) await client.CancelAsync("rnd_1");
            Assert.That(_handler.Requests[0].Method.Method, Is.EqualTo("POST"));
            Assert.That(_handler.Requests[0].Url, Is.EqualTo(Fake.Server + "/api/v1/renders/rnd_1/cancel"));
        }

        [Test]
        public void EveryClientNamesItsHost()
        {
            Assert.Throws<ArgumentException>(() => new TdsClient(new ClientOptions { ApiKey = "k" }));
        }
    }

    /// <summary>IProgress that records on the reporting thread (Progress&lt;T&gt; posts to the
    /// synchronization context, which would make the order racy in tests).</summary>
    public sealed class SyncProgress : IProgress<RenderProgress>
    {
        readonly List<RenderProgress> _seen;
        public SyncProgress(List<RenderProgress> seen) { _seen = seen; }
        public void Report(RenderProgress value) { lock (_seen) _seen.Add(value); }
    }
}
