using System;
using System.Linq;
using NUnit.Framework;
using Tds.Plugins.Core;

namespace Tds.Plugins.Core.Tests
{
    /// <summary>The core against plugins/contract: what it sends and how it reads every answer.</summary>
    [TestFixture]
    public class ContractTests
    {
        static PluginSettings SettingsFromVector()
        {
            var body = Contract.Tree("render_request").Element("body");
            return new PluginSettings
            {
                SceneType = body.Element("scene_type").Value,
                Resolution = body.Element("resolution").Value,
                ArchitecturalStyle = body.Element("architectural_style").Value,
                Lighting = body.Element("lighting").Value,
                Prompt = body.Element("prompt").Value,
                Project = body.Element("project").Value,
            };
        }

        [Test]
        public void TheRenderBodyIsTheContractVector()
        {
            var vector = Contract.Tree("render_request").Element("body");
            var source = vector.Element("source").Value;
            var built = RenderRequest.ToJson(RenderRequest.Build(Fake.Png(), SettingsFromVector(), source));
            Assert.That(Contract.Flatten(Contract.ParseTree(built)), Is.EqualTo(Contract.Flatten(vector)));
        }

        [Test]
        public void EmptyChoicesAreLeftToTheServer()
        {
            var built = Contract.ParseTree(RenderRequest.ToJson(RenderRequest.Build(Fake.Png(), new PluginSettings(), HostSource.Revit)));
            var keys = built.Elements().Select(e => e.Name.LocalName).ToArray();
            Assert.That(keys, Is.EqualTo(new[] { "image_base64", "kind", "scene_type", "resolution", "input_type", "source" }));
            Assert.That(built.Element("source").Value, Is.EqualTo("revit"));
        }

        [Test]
        public void AProjectCodeIsSentTrimmedAndOnlyWhenGiven()
        {
            var billed = RenderRequest.Build(Fake.Png(), new PluginSettings { Project = "  Mill Street " }, HostSource.Revit);
            Assert.That(billed.Project, Is.EqualTo("Mill Street"));
            var blank = Contract.ParseTree(RenderRequest.ToJson(RenderRequest.Build(Fake.Png(), new PluginSettings { Project = "  " }, HostSource.Revit)));
            Assert.That(blank.Element("project"), Is.Null);
            Assert.That(Contract.Body<RenderEnvelope>("render_done").Render.Project, Is.EqualTo("2026-017 Harbour Lofts"));
        }

        [TestCase("rhino")]
        [TestCase("revit")]
        [TestCase("autocad")]
        public void EveryHostNamesItself(string host)
        {
            var body = RenderRequest.Build(Fake.Png(), new PluginSettings(), host);
            Assert.That(body.Source, Is.EqualTo(host));
        }

        [Test]
        public void StylesGiveOptionListsAndCosts()
        {
            var catalogue = new Catalogue(Contract.Body<Styles>("styles"));
            Assert.That(catalogue.SceneTypes.Any(o => o.Id == "interior"), Is.True);
            Assert.That(catalogue.ArchitecturalStyles.Any(o => o.Name == "Modern"), Is.True);
            Assert.That(catalogue.Lighting.Any(o => o.Name == "Golden Hour"), Is.True);
            Assert.That(catalogue.Cost("render", "2k"), Is.EqualTo(10));
            Assert.That(catalogue.Cost("render", "8k"), Is.Null);
            Assert.That(catalogue.LongEdge("4k"), Is.EqualTo(4096));
            Assert.That(catalogue.IsAvailable("render"), Is.True);
            Assert.That(catalogue.IsAvailable("staging"), Is.False);
            Assert.That(catalogue.Styles.Plans.Count, Is.EqualTo(3));
        }

        [Test]
        public void MeGivesTheBalanceForTheQuote()
        {
            var account = Contract.Body<Account>("me");
            var catalogue = new Catalogue(Contract.Body<Styles>("styles"));
            Assert.That(account.Email, Is.EqualTo("architect@example.com"));
            var quote = catalogue.Quote(new PluginSettings { Resolution = "2k" }, account);
            Assert.That(quote.Ok, Is.True);
            Assert.That(quote.Text, Is.EqualTo("10 credits · balance " + account.Credits));
        }

        [Test]
        public void QuotesSayWhatStopsAClick()
        {
            var catalogue = new Catalogue(Contract.Body<Styles>("styles"));
            var poor = Contract.Body<Account>("me");
            poor.Credits = 4;
            var shortQuote = catalogue.Quote(new PluginSettings { Resolution = "1k" }, poor);
            Assert.That(shortQuote.Ok, Is.False);
            Check.Contains(shortQuote.Text, "not enough");

            var free = Contract.Body<Account>("me");
            free.Plan.Name = "Free";
            free.Plan.MaxResolution = "2k";
            var limited = catalogue.Quote(new PluginSettings { Resolution = "4k" }, free);
            Assert.That(limited.Ok, Is.False);
            Assert.That(limited.Text, Is.EqualTo("4k is not in the Free plan (up to 2k)."));

            Assert.That(catalogue.Quote(new PluginSettings(), null).Text, Is.EqualTo("10 credits"));
        }

        [Test]
        public void DoneAndQueuedAnswersParse()
        {
            var done = Contract.Body<RenderEnvelope>("render_done");
            Assert.That(done.Render.Status, Is.EqualTo("done"));
            Check.EndsWith(done.Render.OutputImageUrl, ".jpg");
            Assert.That(done.Credits, Is.Not.Null);
            Assert.That(done.Render.Source, Is.EqualTo("sketchup"));
            var queued = Contract.Body<RenderEnvelope>("render_queued");
            Assert.That(queued.Render.Status, Is.EqualTo("queued"));
            Assert.That(queued.Render.QueuePosition, Is.Not.Null);
            Assert.That(queued.Render.IsFinished, Is.False);
        }

        [Test]
        public void EveryCodeMapsAsTheSharedTableSays()
        {
            foreach (var row in ErrorKindTable.Load().ByCode)
            {
                var body = "{\"error\":{\"code\":\"" + row.Code + "\",\"message\":\"Server says no.\"}}";
                var error = TdsException.FromResponse(row.Status, body);
                Assert.That(TdsException.KindName(error.Kind), Is.EqualTo(row.Kind), row.ToString());
                Assert.That(error.IsRetryable, Is.EqualTo(row.Retry), row.ToString());
                Assert.That(error.Code, Is.EqualTo(row.Code));
            }
        }

        [Test]
        public void AnswersWithoutAnErrorBodyMapByStatus()
        {
            foreach (var row in ErrorKindTable.Load().ByStatus)
            {
                var error = TdsException.FromResponse(row.Status, row.Body);
                Assert.That(TdsException.KindName(error.Kind), Is.EqualTo(row.Kind), row.ToString());
                Assert.That(error.IsRetryable, Is.EqualTo(row.Retry), row.ToString());
            }
        }

        [Test]
        public void ErrorVectorsBecomeActionableMessages()
        {
            var invalid = FromVector("error_401");
            Assert.That(invalid.Kind, Is.EqualTo(TdsErrorKind.InvalidKey));
            Check.Contains(invalid.Message, "API key");

            var credits = FromVector("error_402");
            Assert.That(credits.Kind, Is.EqualTo(TdsErrorKind.NoCredits));
            Assert.That(credits.Detail, Is.EqualTo(Contract.Tree("error_402").Element("body").Element("error").Element("message").Value));

            var bad = FromVector("error_400");
            Assert.That(bad.Kind, Is.EqualTo(TdsErrorKind.BadRequest));
            Check.Contains(bad.Detail, "resolution");

            var limited = FromVector("error_429");
            Assert.That(limited.Kind, Is.EqualTo(TdsErrorKind.RateLimited));
            Assert.That(limited.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(60)));
            Check.Contains(limited.Detail, "60 s");
        }

        static TdsException FromVector(string name)
        {
            var retryAfter = Contract.Header(name, "Retry-After");
            return TdsException.FromResponse(Contract.Status(name), Contract.BodyJson(name),
                retryAfter == null ? (TimeSpan?)null : TimeSpan.FromSeconds(int.Parse(retryAfter)));
        }
    }
}
