using System;
using System.Collections.Generic;
using System.Linq;

namespace Tds.Plugins.Core
{
    /// <summary>GET /api/v1/styles, ready for the panel: option lists, costs, available kinds.</summary>
    public sealed class Catalogue
    {
        static readonly string[] Ranks = { "1k", "2k", "4k" };

        public Catalogue(Styles styles)
        {
            Styles = styles ?? throw new ArgumentNullException(nameof(styles));
        }

        public Styles Styles { get; }
        public IList<OptionInfo> SceneTypes => Styles.SceneTypes ?? new List<OptionInfo>();
        public IList<OptionInfo> ArchitecturalStyles => Styles.ArchitecturalStyles ?? new List<OptionInfo>();
        public IList<OptionInfo> Lighting => Styles.Lighting ?? new List<OptionInfo>();
        public IList<ResolutionInfo> Resolutions => Styles.Resolutions ?? new List<ResolutionInfo>();

        public int? Cost(string kind, string resolution)
        {
            Dictionary<string, int> row;
            int cost;
            if (Styles.Costs != null && kind != null && resolution != null
                && Styles.Costs.TryGetValue(kind, out row) && row.TryGetValue(resolution, out cost))
                return cost;
            return null;
        }

        public bool IsAvailable(string kind) => (Styles.Kinds ?? new List<KindInfo>()).Any(k => k.Id == kind && k.Available);

        public int? LongEdge(string resolution) => Resolutions.Where(r => r.Id == resolution).Select(r => (int?)r.LongEdge).FirstOrDefault();

        /// <summary>What a click would cost against the account from GET /api/v1/me (null before it loaded).</summary>
        public Quote Quote(PluginSettings settings, Account account, string kind = "render")
        {
            return new Quote(Cost(kind, settings.Resolution), account, settings.Resolution, IsAvailable(kind));
        }

        internal static int Rank(string resolution) => Array.IndexOf(Ranks, resolution);
    }

    /// <summary>Cost and balance, shown next to the Render button before the click.</summary>
    public sealed class Quote
    {
        readonly string _resolution;
        readonly bool _kindAvailable;

        public Quote(int? cost, Account account, string resolution, bool kindAvailable = true)
        {
            Cost = cost;
            _resolution = resolution;
            _kindAvailable = kindAvailable;
            if (account == null) return;
            Balance = account.Credits;
            PlanName = account.Plan?.Name;
            MaxResolution = account.Plan?.MaxResolution;
        }

        public int? Cost { get; }
        public int? Balance { get; }
        public string PlanName { get; }
        public string MaxResolution { get; }

        public bool InPlan
        {
            get
            {
                int wanted = Catalogue.Rank(_resolution), allowed = Catalogue.Rank(MaxResolution);
                return wanted < 0 || allowed < 0 || wanted <= allowed;
            }
        }

        public bool Affordable => Cost.HasValue && Balance.HasValue && Balance.Value >= Cost.Value;
        public bool Ok => _kindAvailable && InPlan && Affordable;

        public string Text
        {
            get
            {
                if (!Cost.HasValue) return "Unknown resolution for this server.";
                if (!Balance.HasValue) return Cost + " credits";
                if (!InPlan) return _resolution + " is not in the " + PlanName + " plan (up to " + MaxResolution + ").";
                var line = Cost + " credits · balance " + Balance;
                return Affordable ? line : line + ": not enough. Buy credits or choose a lower resolution.";
            }
        }

        public override string ToString() => Text;
    }
}
