using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Tds.Plugins.Core
{
    /// <summary>What went wrong, in the user's terms. The mapping from HTTP answers is shared with
    /// the SketchUp plugin through plugins/contract/error_kinds.json.</summary>
    public enum TdsErrorKind
    {
        InvalidKey,
        NoKey,
        NoCredits,
        PlanLimit,
        BadRequest,
        NotFound,
        TooLarge,
        RateLimited,
        RenderFailed,
        Unavailable,
        Server,
        Network,
        Timeout,
        Canceled,
        StillRunning,
        BadResponse,
        Capture,
    }

    /// <summary>Every failure the panel shows: <see cref="Title"/> in bold, <see cref="Detail"/>
    /// under it. <see cref="Exception.Message"/> is both on one line.</summary>
    public sealed class TdsException : Exception
    {
        static readonly Dictionary<TdsErrorKind, string> Titles = new Dictionary<TdsErrorKind, string>
        {
            { TdsErrorKind.InvalidKey, "API key not accepted" },
            { TdsErrorKind.NoKey, "No API key" },
            { TdsErrorKind.NoCredits, "Not enough credits" },
            { TdsErrorKind.PlanLimit, "Not in your plan" },
            { TdsErrorKind.BadRequest, "Request refused" },
            { TdsErrorKind.NotFound, "Not found" },
            { TdsErrorKind.TooLarge, "Image too large" },
            { TdsErrorKind.RateLimited, "Too many requests" },
            { TdsErrorKind.RenderFailed, "Render failed" },
            { TdsErrorKind.Unavailable, "Server busy" },
            { TdsErrorKind.Server, "Server error" },
            { TdsErrorKind.Network, "No connection" },
            { TdsErrorKind.Timeout, "No answer" },
            { TdsErrorKind.Canceled, "Canceled" },
            { TdsErrorKind.StillRunning, "Still rendering" },
            { TdsErrorKind.BadResponse, "Unexpected answer" },
            { TdsErrorKind.Capture, "Capture failed" },
        };

        static readonly Dictionary<string, TdsErrorKind> ByCode = new Dictionary<string, TdsErrorKind>
        {
            { "invalid_api_key", TdsErrorKind.InvalidKey },
            { "login_required", TdsErrorKind.InvalidKey },
            { "insufficient_credits", TdsErrorKind.NoCredits },
            { "plan_limit", TdsErrorKind.PlanLimit },
            { "not_found", TdsErrorKind.NotFound },
            { "payload_too_large", TdsErrorKind.TooLarge },
            { "rate_limited", TdsErrorKind.RateLimited },
            { "internal_error", TdsErrorKind.Server },
            { "model_failed", TdsErrorKind.RenderFailed },
            { "content_refused", TdsErrorKind.RenderFailed },
            { "geometry_drift", TdsErrorKind.RenderFailed },
            { "model_unavailable", TdsErrorKind.Unavailable },
        };

        public TdsException(TdsErrorKind kind, string detail, int? status = null, string code = null,
            TimeSpan? retryAfter = null, string renderId = null, Exception inner = null)
            : base(Titles[kind] + ": " + detail, inner)
        {
            Kind = kind;
            Detail = detail;
            Status = status;
            Code = code;
            RetryAfter = retryAfter;
            RenderId = renderId;
        }

        public TdsErrorKind Kind { get; }
        public string Title => Titles[Kind];
        public string Detail { get; }
        public int? Status { get; }
        /// <summary>The API's error code (e.g. "insufficient_credits"), when it sent one.</summary>
        public string Code { get; }
        public TimeSpan? RetryAfter { get; }
        public string RenderId { get; }

        /// <summary>Worth resending the same render POST (same Idempotency-Key: never charged twice).</summary>
        public bool IsRetryable =>
            Kind == TdsErrorKind.RateLimited || Kind == TdsErrorKind.Server || Kind == TdsErrorKind.Unavailable
            || Kind == TdsErrorKind.Network || Kind == TdsErrorKind.Timeout;

        /// <summary>The kind as the contract files spell it: InvalidKey → "invalid_key".</summary>
        public static string KindName(TdsErrorKind kind)
        {
            var text = kind.ToString();
            var name = new StringBuilder();
            for (var i = 0; i < text.Length; i++)
            {
                if (char.IsUpper(text[i]) && i > 0) name.Append('_');
                name.Append(char.ToLowerInvariant(text[i]));
            }
            return name.ToString();
        }

        /// <summary>An answer with status &gt;= 400, with or without the API's {"error": {...}} body.</summary>
        public static TdsException FromResponse(int status, string body, TimeSpan? retryAfter = null, string serverUrl = null)
        {
            var error = Json.TryParse<ErrorEnvelope>(body)?.Error;
            var code = error?.Code;
            TdsErrorKind kind;
            if (code == null || !ByCode.TryGetValue(code, out kind)) kind = KindForStatus(status);
            var detail = DetailFor(kind, status, error?.Message, retryAfter, serverUrl);
            return new TdsException(kind, detail, status, code, retryAfter, error?.RenderId);
        }

        public static TdsErrorKind KindForStatus(int status)
        {
            switch (status)
            {
                case 400: return TdsErrorKind.BadRequest;
                case 401: return TdsErrorKind.InvalidKey;
                case 402: return TdsErrorKind.NoCredits;
                case 404: return TdsErrorKind.NotFound;
                case 413: return TdsErrorKind.TooLarge;
                case 429: return TdsErrorKind.RateLimited;
                case 503: return TdsErrorKind.Unavailable;
                default: return status >= 500 ? TdsErrorKind.Server : TdsErrorKind.BadRequest;
            }
        }

        public static TdsException Network(string serverUrl, string reason = null, Exception inner = null)
        {
            var suffix = string.IsNullOrEmpty(reason) ? "" : " (" + reason + ")";
            return new TdsException(TdsErrorKind.Network,
                "Could not reach " + serverUrl + suffix + ". Check your internet connection and the server address in the tds settings.",
                inner: inner);
        }

        public static TdsException TimedOut(string serverUrl, TimeSpan after)
        {
            return new TdsException(TdsErrorKind.Timeout,
                serverUrl + " did not answer within " + Math.Round(after.TotalSeconds).ToString(CultureInfo.InvariantCulture)
                + " s. Check your connection and try again: a render already started is never charged twice.");
        }

        public static TdsException NoKey()
        {
            return new TdsException(TdsErrorKind.NoKey, "Paste your API key in the tds settings (dashboard: Settings → API keys).");
        }

        static string Seconds(TimeSpan? value, string otherwise)
        {
            return value.HasValue
                ? "in " + Math.Ceiling(value.Value.TotalSeconds).ToString(CultureInfo.InvariantCulture) + " s"
                : otherwise;
        }

        static string DetailFor(TdsErrorKind kind, int status, string serverMessage, TimeSpan? retryAfter, string serverUrl)
        {
            switch (kind)
            {
                case TdsErrorKind.InvalidKey:
                    return "The server did not accept this API key. Copy a key from the tds dashboard (Settings → API keys) and paste it in the tds settings.";
                case TdsErrorKind.NoCredits:
                    return serverMessage ?? "Your balance does not cover this render. Buy credits, or choose a lower resolution.";
                case TdsErrorKind.RateLimited:
                    return "The server asks to slow down. Try again " + Seconds(retryAfter, "in a minute") + ".";
                case TdsErrorKind.Unavailable:
                    return "The render queue is full and nothing was charged. Try again " + Seconds(retryAfter, "shortly") + ".";
                case TdsErrorKind.RenderFailed:
                    return (serverMessage ?? "The engine could not finish this render.") + " Your credits were refunded.";
                case TdsErrorKind.NotFound:
                    return serverMessage ?? (serverUrl ?? "The server") + " has no tds API here (HTTP 404). Check the server address.";
                case TdsErrorKind.Server:
                    return "The server had a problem (HTTP " + status.ToString(CultureInfo.InvariantCulture) + "). Nothing was charged; try again.";
                default:
                    return serverMessage ?? "The server answered HTTP " + status.ToString(CultureInfo.InvariantCulture) + ".";
            }
        }
    }
}
