using System;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Tds.Plugins.Core
{
    public sealed class ClientOptions
    {
        public string ServerUrl { get; set; } = PluginSettings.DefaultServerUrl;
        public string ApiKey { get; set; }
        /// <summary>"rhino", "revit" or "autocad" (<see cref="HostSource"/>).</summary>
        public string Source { get; set; }
        /// <summary>Prefer: wait=N on the POST; after that the client polls and reports progress.</summary>
        public int WaitSeconds { get; set; } = 10;
        public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1.5);
        /// <summary>Then <see cref="TdsErrorKind.StillRunning"/>: the render goes on on the server.</summary>
        public TimeSpan MaxPollTime { get; set; } = TimeSpan.FromMinutes(15);
        /// <summary>Resends of the POST for retryable errors, with the same Idempotency-Key.</summary>
        public int MaxRetries { get; set; } = 2;
        /// <summary>Longer Retry-After values are shown to the user instead of waited for.</summary>
        public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(10);
        /// <summary>The POST uploads the image and waits up to WaitSeconds.</summary>
        public TimeSpan PostTimeout { get; set; } = TimeSpan.FromSeconds(90);
        public TimeSpan GetTimeout { get; set; } = TimeSpan.FromSeconds(30);
        public int PollFailures { get; set; } = 3;
        /// <summary>How the client waits between polls and retries (tests pass one that does not).</summary>
        public Func<TimeSpan, CancellationToken, Task> Delay { get; set; } = Task.Delay;
        public Func<DateTime> UtcNow { get; set; } = () => DateTime.UtcNow;
    }

    /// <summary>A finished render and the balance after it.</summary>
    public sealed class RenderOutcome
    {
        public RenderOutcome(Render render, int? credits) { Render = render; Credits = credits; }
        public Render Render { get; }
        public int? Credits { get; }
    }

    /// <summary>What a render in flight reports: status, progress 0–1 (when known), queue position.</summary>
    public sealed class RenderProgress
    {
        public RenderProgress(string status, double? fraction, int? queuePosition, string renderId, string message = null)
        {
            Status = status; Fraction = fraction; QueuePosition = queuePosition; RenderId = renderId; Message = message;
        }

        public string Status { get; }
        public double? Fraction { get; }
        public int? QueuePosition { get; }
        public string RenderId { get; }
        public string Message { get; }

        public string Text
        {
            get
            {
                if (Message != null) return Message;
                if (Status == "queued") return QueuePosition.HasValue ? "Queued (position " + QueuePosition + ")…" : "Queued…";
                if (Fraction.HasValue) return "Rendering… " + Math.Round(Fraction.Value * 100).ToString(CultureInfo.InvariantCulture) + " %";
                return "Rendering…";
            }
        }
    }

    /// <summary>The tds API for the .NET plugins. Every method is asynchronous and never touches a
    /// host: adapters call it off the UI thread (or await it) and marshal results back.</summary>
    public sealed class TdsClient : IDisposable
    {
        readonly ClientOptions _options;
        readonly HttpClient _http;
        readonly string _server;

        public TdsClient(ClientOptions options, HttpMessageHandler handler = null)
        {
            _options = options ?? throw new ArgumentNullException(nameof(options));
            if (string.IsNullOrEmpty(options.Source)) throw new ArgumentException("every plugin names its host in Source");
            _server = (options.ServerUrl ?? "").Trim().TrimEnd('/');
            _http = handler == null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
            _http.Timeout = Timeout.InfiniteTimeSpan; // each call has its own, see Send
            _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("tds-" + options.Source, Version));
        }

        public const string Version = "0.1.0";
        public string ServerUrl => _server;

        public async Task<Account> GetMeAsync(CancellationToken cancel = default)
        {
            return await GetJsonAsync<Account>("/api/v1/me", cancel).ConfigureAwait(false);
        }

        public async Task<Catalogue> GetStylesAsync(CancellationToken cancel = default)
        {
            return new Catalogue(await GetJsonAsync<Styles>("/api/v1/styles", cancel).ConfigureAwait(false));
        }

        /// <summary>Sends the captured view and follows the render to its end.</summary>
        public async Task<RenderOutcome> RenderAsync(byte[] png, PluginSettings settings, string idempotencyKey = null,
            IProgress<RenderProgress> progress = null, CancellationToken cancel = default)
        {
            RequireKey();
            var body = RenderRequest.ToJson(RenderRequest.Build(png, settings, _options.Source));
            var key = idempotencyKey ?? RenderRequest.NewIdempotencyKey();
            var envelope = await PostRenderAsync(body, key, progress, cancel).ConfigureAwait(false);
            var deadline = _options.UtcNow() + _options.MaxPollTime;
            var failures = 0;
            while (true)
            {
                var render = envelope.Render;
                if (render.Status == "done") return new RenderOutcome(render, envelope.Credits);
                if (render.Status == "failed")
                    throw new TdsException(TdsErrorKind.RenderFailed,
                        (render.Error?.Message ?? "The engine could not finish this render.") + " Your credits were refunded.",
                        code: render.Error?.Code, renderId: render.Id);
                if (render.Status == "canceled")
                    throw new TdsException(TdsErrorKind.Canceled, "The render was canceled; its credits were released.", renderId: render.Id);

                progress?.Report(ProgressOf(render));
                if (_options.UtcNow() >= deadline)
                    throw new TdsException(TdsErrorKind.StillRunning,
                        "Render " + render.Id + " is still running. Find it in the tds dashboard's gallery.", renderId: render.Id);
                await _options.Delay(_options.PollInterval, cancel).ConfigureAwait(false);
                try
                {
                    envelope = await SendForEnvelopeAsync(Get("/api/v1/renders/" + Uri.EscapeDataString(render.Id)),
                        _options.GetTimeout, cancel).ConfigureAwait(false);
                    failures = 0;
                }
                catch (TdsException e) when (e.IsRetryable && ++failures < _options.PollFailures)
                {
                    envelope = new RenderEnvelope { Render = render };
                }
            }
        }

        public async Task<Render> CancelAsync(string renderId, CancellationToken cancel = default)
        {
            RequireKey();
            var request = new HttpRequestMessage(HttpMethod.Post, _server + "/api/v1/renders/" + Uri.EscapeDataString(renderId) + "/cancel");
            Authorize(request);
            return (await SendForEnvelopeAsync(request, _options.GetTimeout, cancel).ConfigureAwait(false)).Render;
        }

        /// <summary>The output file. The key goes only to the API's own host.</summary>
        public async Task<byte[]> DownloadAsync(string url, CancellationToken cancel = default)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (url.StartsWith(_server + "/", StringComparison.Ordinal)) Authorize(request);
            using (var response = await SendAsync(request, _options.PostTimeout, cancel).ConfigureAwait(false))
            {
                var bytes = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                    throw TdsException.FromResponse((int)response.StatusCode, Encoding.UTF8.GetString(bytes), RetryAfter(response), _server);
                if (OutputFiles.ImageExtension(bytes) == null)
                    throw new TdsException(TdsErrorKind.BadResponse, url + " is not an image.");
                return bytes;
            }
        }

        public void Dispose() => _http.Dispose();

        async Task<RenderEnvelope> PostRenderAsync(string body, string key, IProgress<RenderProgress> progress, CancellationToken cancel)
        {
            for (var attempt = 0; ; attempt++)
            {
                var request = new HttpRequestMessage(HttpMethod.Post, _server + "/api/v1/renders")
                {
                    Content = new StringContent(body, Encoding.UTF8, "application/json"),
                };
                Authorize(request);
                request.Headers.TryAddWithoutValidation("Prefer", "wait=" + _options.WaitSeconds.ToString(CultureInfo.InvariantCulture));
                request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
                try
                {
                    return await SendForEnvelopeAsync(request, _options.PostTimeout, cancel).ConfigureAwait(false);
                }
                catch (TdsException e)
                {
                    var delay = RetryDelay(e, attempt);
                    if (delay == null) throw;
                    progress?.Report(new RenderProgress("retrying", null, null, null,
                        e.Title + "; retrying in " + Math.Round(delay.Value.TotalSeconds).ToString(CultureInfo.InvariantCulture) + " s"));
                    await _options.Delay(delay.Value, cancel).ConfigureAwait(false);
                }
            }
        }

        TimeSpan? RetryDelay(TdsException error, int attempt)
        {
            if (!error.IsRetryable || attempt >= _options.MaxRetries) return null;
            if (error.RetryAfter.HasValue) return error.RetryAfter.Value <= _options.MaxRetryAfter ? error.RetryAfter : null;
            return TimeSpan.FromSeconds(Math.Pow(2, attempt)); // 1 s, then 2 s
        }

        static RenderProgress ProgressOf(Render render)
        {
            double? fraction = null;
            if (render.Progress != null && render.Progress.Max > 0) fraction = render.Progress.Value / (double)render.Progress.Max;
            return new RenderProgress(render.Status, fraction, render.QueuePosition, render.Id);
        }

        void RequireKey()
        {
            if (string.IsNullOrEmpty(_options.ApiKey)) throw TdsException.NoKey();
        }

        void Authorize(HttpRequestMessage request)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.ApiKey);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        }

        HttpRequestMessage Get(string path)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, _server + path);
            Authorize(request);
            return request;
        }

        async Task<T> GetJsonAsync<T>(string path, CancellationToken cancel) where T : class
        {
            RequireKey();
            using (var response = await SendAsync(Get(path), _options.GetTimeout, cancel).ConfigureAwait(false))
            {
                var text = await CheckedTextAsync(response).ConfigureAwait(false);
                return Json.TryParse<T>(text) ?? throw NotTds();
            }
        }

        async Task<RenderEnvelope> SendForEnvelopeAsync(HttpRequestMessage request, TimeSpan timeout, CancellationToken cancel)
        {
            using (var response = await SendAsync(request, timeout, cancel).ConfigureAwait(false))
            {
                var envelope = Json.TryParse<RenderEnvelope>(await CheckedTextAsync(response).ConfigureAwait(false));
                if (envelope?.Render?.Id == null) throw NotTds();
                return envelope;
            }
        }

        async Task<string> CheckedTextAsync(HttpResponseMessage response)
        {
            var text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw TdsException.FromResponse((int)response.StatusCode, text, RetryAfter(response), _server);
            return text;
        }

        TdsException NotTds() => new TdsException(TdsErrorKind.BadResponse, _server + " did not answer like a tds server.");

        static TimeSpan? RetryAfter(HttpResponseMessage response)
        {
            var header = response.Headers.RetryAfter;
            if (header?.Delta != null) return header.Delta;
            return null;
        }

        /// <summary>One request with its own timeout; no answer becomes Network or Timeout.</summary>
        async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, TimeSpan timeout, CancellationToken cancel)
        {
            using (var timer = CancellationTokenSource.CreateLinkedTokenSource(cancel))
            {
                timer.CancelAfter(timeout);
                try
                {
                    return await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timer.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
                {
                    throw TdsException.TimedOut(_server, timeout);
                }
                catch (HttpRequestException e)
                {
                    throw TdsException.Network(_server, Reason(e), e);
                }
                catch (WebException e)
                {
                    throw TdsException.Network(_server, e.Status.ToString(), e);
                }
                finally
                {
                    request.Dispose();
                }
            }
        }

        static string Reason(Exception e)
        {
            while (e.InnerException != null) e = e.InnerException;
            return e.Message;
        }
    }
}
