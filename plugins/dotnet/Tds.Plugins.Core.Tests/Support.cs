using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Runtime.Serialization;
using System.Runtime.Serialization.Json;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using System.Xml;
using System.Xml.Linq;
using NUnit.Framework;
using Tds.Plugins.Core;

namespace Tds.Plugins.Core.Tests
{
    /// <summary>The shared vectors in plugins/contract (TDS_CONTRACT_DIR, else found upwards from
    /// the test assembly), as raw JSON text and as XML trees (JsonReaderWriterFactory's mapping).</summary>
    public static class Contract
    {
        static string _dir;

        public static string Dir
        {
            get
            {
                if (_dir != null) return _dir;
                var fromEnv = Environment.GetEnvironmentVariable("TDS_CONTRACT_DIR");
                if (!string.IsNullOrEmpty(fromEnv)) return _dir = fromEnv;
                for (var dir = new DirectoryInfo(AppDomain.CurrentDomain.BaseDirectory); dir != null; dir = dir.Parent)
                {
                    var candidate = Path.Combine(dir.FullName, "contract");
                    if (File.Exists(Path.Combine(candidate, "render_request.json"))) return _dir = candidate;
                }
                throw new InvalidOperationException("plugins/contract not found: set TDS_CONTRACT_DIR");
            }
        }

        public static XElement Tree(string name) => ParseTree(File.ReadAllText(Path.Combine(Dir, name + ".json"), Encoding.UTF8));

        public static XElement ParseTree(string json)
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            using (var reader = JsonReaderWriterFactory.CreateJsonReader(bytes, XmlDictionaryReaderQuotas.Max))
                return XElement.Load(reader);
        }

        /// <summary>An element of a tree written back as JSON text.</summary>
        public static string ToJson(XElement element)
        {
            var output = new StringBuilder();
            Write(element, output);
            return output.ToString();
        }

        static void Write(XElement element, StringBuilder output)
        {
            var type = (string)element.Attribute("type") ?? "string";
            switch (type)
            {
                case "object":
                    output.Append('{');
                    var first = true;
                    foreach (var child in element.Elements())
                    {
                        if (!first) output.Append(',');
                        first = false;
                        Quote(Key(child), output);
                        output.Append(':');
                        Write(child, output);
                    }
                    output.Append('}');
                    break;
                case "array":
                    output.Append('[');
                    var index = 0;
                    foreach (var child in element.Elements())
                    {
                        if (index++ > 0) output.Append(',');
                        Write(child, output);
                    }
                    output.Append(']');
                    break;
                case "string":
                    Quote(element.Value, output);
                    break;
                default: // number, boolean, null: their text is the JSON
                    output.Append(type == "null" ? "null" : element.Value);
                    break;
            }
        }

        static void Quote(string text, StringBuilder output)
        {
            output.Append('"');
            foreach (var c in text)
            {
                if (c == '"' || c == '\\') output.Append('\\').Append(c);
                else if (c < ' ') output.Append("\\u").Append(((int)c).ToString("x4"));
                else output.Append(c);
            }
            output.Append('"');
        }

        public static string BodyJson(string name) => ToJson(Tree(name).Element("body"));
        public static int Status(string name) => int.Parse(Tree(name).Element("status").Value);
        public static string Header(string name, string header) => Tree(name).Element("headers")?.Element(header)?.Value;

        public static T Body<T>(string name) where T : class => Json.Parse<T>(BodyJson(name));

        /// <summary>A JSON tree as path → "type:value" lines, order-free, for exact comparisons.</summary>
        public static SortedDictionary<string, string> Flatten(XElement element, string path = "$")
        {
            var output = new SortedDictionary<string, string>(StringComparer.Ordinal);
            Walk(element, path, output);
            return output;
        }

        static void Walk(XElement element, string path, IDictionary<string, string> output)
        {
            var type = (string)element.Attribute("type") ?? "string";
            if (type == "object")
            {
                output[path] = "object";
                foreach (var child in element.Elements()) Walk(child, path + "." + Key(child), output);
            }
            else if (type == "array")
            {
                output[path] = "array";
                var i = 0;
                foreach (var child in element.Elements()) Walk(child, path + "[" + i++ + "]", output);
            }
            else
            {
                output[path] = type + ":" + element.Value;
            }
        }

        static string Key(XElement element) => (string)element.Attribute("item") ?? element.Name.LocalName;
    }

    [DataContract]
    public sealed class ErrorKindRow
    {
        [DataMember(Name = "status")] public int Status { get; set; }
        [DataMember(Name = "code")] public string Code { get; set; }
        [DataMember(Name = "body")] public string Body { get; set; }
        [DataMember(Name = "kind")] public string Kind { get; set; }
        [DataMember(Name = "retry")] public bool Retry { get; set; }
        public override string ToString() => Status + " " + (Code ?? Body);
    }

    [DataContract]
    public sealed class ErrorKindTable
    {
        [DataMember(Name = "by_code")] public List<ErrorKindRow> ByCode { get; set; }
        [DataMember(Name = "by_status")] public List<ErrorKindRow> ByStatus { get; set; }

        public static ErrorKindTable Load() =>
            Json.Parse<ErrorKindTable>(File.ReadAllText(Path.Combine(Contract.Dir, "error_kinds.json"), Encoding.UTF8));
    }

    /// <summary>What the fake handler saw of one request.</summary>
    public sealed class SentRequest
    {
        public HttpMethod Method;
        public string Url;
        public Dictionary<string, string> Headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        public string Body;
    }

    /// <summary>An HttpMessageHandler that answers from a queue, records every request, and can hang
    /// (for timeouts) or fail like a dropped connection.</summary>
    public sealed class FakeHandler : HttpMessageHandler
    {
        readonly Queue<Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>> _answers =
            new Queue<Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>>();

        public readonly List<SentRequest> Requests = new List<SentRequest>();

        public FakeHandler Then(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> answer)
        {
            _answers.Enqueue(answer);
            return this;
        }

        public FakeHandler Then(int status, string body, string retryAfter = null, string contentType = "application/json")
        {
            return Then((request, cancel) => Task.FromResult(Response(status, body, retryAfter, contentType)));
        }

        public FakeHandler ThenBytes(byte[] body, string contentType = "image/jpeg")
        {
            return Then((request, cancel) =>
            {
                var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(body) };
                response.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
                return Task.FromResult(response);
            });
        }

        public FakeHandler ThenVector(string name)
        {
            return Then(Contract.Status(name), Contract.BodyJson(name), Contract.Header(name, "Retry-After"));
        }

        /// <summary>Never answers: only the client's own timeout (or cancel) ends it.</summary>
        public FakeHandler ThenHang()
        {
            return Then(async (request, cancel) =>
            {
                await Task.Delay(Timeout.Infinite, cancel);
                throw new InvalidOperationException("unreachable");
            });
        }

        public FakeHandler ThenDrop()
        {
            return Then((request, cancel) =>
            {
                var failed = new TaskCompletionSource<HttpResponseMessage>();
                failed.SetException(new HttpRequestException("An error occurred while sending the request.",
                    new WebException("Connection refused", WebExceptionStatus.ConnectFailure)));
                return failed.Task;
            });
        }

        public static HttpResponseMessage Response(int status, string body, string retryAfter = null, string contentType = "application/json")
        {
            var response = new HttpResponseMessage((HttpStatusCode)status)
            {
                Content = new StringContent(body ?? "", Encoding.UTF8, contentType),
            };
            if (retryAfter != null) response.Headers.TryAddWithoutValidation("Retry-After", retryAfter);
            return response;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancel)
        {
            var sent = new SentRequest { Method = request.Method, Url = request.RequestUri.ToString() };
            foreach (var header in request.Headers) sent.Headers[header.Key] = string.Join(", ", header.Value);
            if (request.Content != null)
            {
                foreach (var header in request.Content.Headers) sent.Headers[header.Key] = string.Join(", ", header.Value);
                sent.Body = await request.Content.ReadAsStringAsync();
            }
            Requests.Add(sent);
            if (_answers.Count == 0) throw new InvalidOperationException("unexpected request " + sent.Method + " " + sent.Url);
            return await _answers.Dequeue()(request, cancel);
        }
    }

    /// <summary>String checks that read the same on NUnit 2.6 (Mono) and NUnit 3/4 (Windows).</summary>
    public static class Check
    {
        public static void Contains(string actual, string part)
        {
            Assert.That(actual != null && actual.Contains(part), Is.True, "expected \"" + part + "\" in: " + actual);
        }

        public static void EndsWith(string actual, string end)
        {
            Assert.That(actual != null && actual.EndsWith(end, StringComparison.Ordinal), Is.True, "expected \"" + end + "\" at the end of: " + actual);
        }
    }

    public static class Fake
    {
        public const string Server = "https://render.example.com";

        /// <summary>Client options that never wait: delays are recorded, not slept.</summary>
        public static ClientOptions Options(List<TimeSpan> delays = null, string key = "tds_live_key")
        {
            return new ClientOptions
            {
                ServerUrl = Server + "/",
                ApiKey = key,
                Source = HostSource.Rhino,
                Delay = (delay, cancel) =>
                {
                    delays?.Add(delay);
                    return Task.FromResult(0);
                },
            };
        }

        public static byte[] Png() => Convert.FromBase64String(Contract.Tree("render_request").Element("body").Element("image_base64").Value);

        public static async Task<TdsException> Fails(Func<Task> action)
        {
            try
            {
                await action();
            }
            catch (TdsException e)
            {
                return e;
            }
            Assert.Fail("expected a TdsException");
            return null;
        }
    }
}
