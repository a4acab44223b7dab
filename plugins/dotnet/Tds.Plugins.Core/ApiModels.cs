using System.Collections.Generic;
using System.Runtime.Serialization;

// The API's bodies as data contracts: names exactly as in docs/api.md, unknown fields ignored, so
// a newer server that adds fields never breaks an installed plugin.
namespace Tds.Plugins.Core
{
    [DataContract]
    public sealed class ErrorEnvelope
    {
        [DataMember(Name = "error")] public ErrorInfo Error { get; set; }
    }

    [DataContract]
    public sealed class ErrorInfo
    {
        [DataMember(Name = "code")] public string Code { get; set; }
        [DataMember(Name = "message")] public string Message { get; set; }
        [DataMember(Name = "param")] public string Param { get; set; }
        [DataMember(Name = "render_id")] public string RenderId { get; set; }
    }

    [DataContract]
    public sealed class Account
    {
        [DataMember(Name = "id")] public string Id { get; set; }
        [DataMember(Name = "email")] public string Email { get; set; }
        [DataMember(Name = "plan")] public PlanInfo Plan { get; set; }
        [DataMember(Name = "credits")] public int Credits { get; set; }
        [DataMember(Name = "credits_held")] public int CreditsHeld { get; set; }
    }

    [DataContract]
    public sealed class PlanInfo
    {
        [DataMember(Name = "id")] public string Id { get; set; }
        [DataMember(Name = "name")] public string Name { get; set; }
        [DataMember(Name = "monthly_credits")] public int MonthlyCredits { get; set; }
        [DataMember(Name = "max_resolution")] public string MaxResolution { get; set; }
        [DataMember(Name = "kinds")] public List<string> Kinds { get; set; }
        [DataMember(Name = "max_in_flight")] public int MaxInFlight { get; set; }
    }

    [DataContract]
    public sealed class OptionInfo
    {
        [DataMember(Name = "id")] public string Id { get; set; }
        [DataMember(Name = "name")] public string Name { get; set; }
        [DataMember(Name = "description")] public string Description { get; set; }
        public override string ToString() => Name;
    }

    [DataContract]
    public sealed class ResolutionInfo
    {
        [DataMember(Name = "id")] public string Id { get; set; }
        [DataMember(Name = "long_edge")] public int LongEdge { get; set; }
        public override string ToString() => Id + " (" + LongEdge + " px)";
    }

    [DataContract]
    public sealed class KindInfo
    {
        [DataMember(Name = "id")] public string Id { get; set; }
        [DataMember(Name = "description")] public string Description { get; set; }
        [DataMember(Name = "available")] public bool Available { get; set; }
        [DataMember(Name = "costs")] public Dictionary<string, int> Costs { get; set; }
    }

    [DataContract]
    public sealed class EngineInfo
    {
        [DataMember(Name = "name")] public string Name { get; set; }
        [DataMember(Name = "description")] public string Description { get; set; }
        [DataMember(Name = "kinds")] public List<string> Kinds { get; set; }
    }

    [DataContract]
    public sealed class Styles
    {
        [DataMember(Name = "scene_types")] public List<OptionInfo> SceneTypes { get; set; }
        [DataMember(Name = "architectural_styles")] public List<OptionInfo> ArchitecturalStyles { get; set; }
        [DataMember(Name = "lighting")] public List<OptionInfo> Lighting { get; set; }
        [DataMember(Name = "input_types")] public List<OptionInfo> InputTypes { get; set; }
        [DataMember(Name = "resolutions")] public List<ResolutionInfo> Resolutions { get; set; }
        [DataMember(Name = "kinds")] public List<KindInfo> Kinds { get; set; }
        [DataMember(Name = "costs")] public Dictionary<string, Dictionary<string, int>> Costs { get; set; }
        [DataMember(Name = "engine")] public EngineInfo Engine { get; set; }
        [DataMember(Name = "plans")] public List<PlanInfo> Plans { get; set; }
    }

    [DataContract]
    public sealed class RenderProgressInfo
    {
        [DataMember(Name = "value")] public int Value { get; set; }
        [DataMember(Name = "max")] public int Max { get; set; }
    }

    [DataContract]
    public sealed class RenderErrorInfo
    {
        [DataMember(Name = "code")] public string Code { get; set; }
        [DataMember(Name = "message")] public string Message { get; set; }
    }

    [DataContract]
    public sealed class RenderUrls
    {
        [DataMember(Name = "get")] public string Get { get; set; }
        [DataMember(Name = "cancel")] public string Cancel { get; set; }
    }

    [DataContract]
    public sealed class Render
    {
        [DataMember(Name = "id")] public string Id { get; set; }
        [DataMember(Name = "kind")] public string Kind { get; set; }
        [DataMember(Name = "status")] public string Status { get; set; }
        [DataMember(Name = "source")] public string Source { get; set; }
        [DataMember(Name = "project")] public string Project { get; set; }
        [DataMember(Name = "scene_type")] public string SceneType { get; set; }
        [DataMember(Name = "architectural_style")] public string ArchitecturalStyle { get; set; }
        [DataMember(Name = "lighting")] public string Lighting { get; set; }
        [DataMember(Name = "resolution")] public string Resolution { get; set; }
        [DataMember(Name = "prompt")] public string Prompt { get; set; }
        [DataMember(Name = "input_type")] public string InputType { get; set; }
        [DataMember(Name = "seed")] public long? Seed { get; set; }
        [DataMember(Name = "width")] public int Width { get; set; }
        [DataMember(Name = "height")] public int Height { get; set; }
        [DataMember(Name = "input_image_url")] public string InputImageUrl { get; set; }
        [DataMember(Name = "output_image_url")] public string OutputImageUrl { get; set; }
        [DataMember(Name = "output_video_url")] public string OutputVideoUrl { get; set; }
        [DataMember(Name = "cost")] public int Cost { get; set; }
        [DataMember(Name = "credits_used")] public int CreditsUsed { get; set; }
        [DataMember(Name = "progress")] public RenderProgressInfo Progress { get; set; }
        [DataMember(Name = "queue_position")] public int? QueuePosition { get; set; }
        [DataMember(Name = "error")] public RenderErrorInfo Error { get; set; }
        [DataMember(Name = "warnings")] public List<string> Warnings { get; set; }
        [DataMember(Name = "created_at")] public string CreatedAt { get; set; }
        [DataMember(Name = "completed_at")] public string CompletedAt { get; set; }
        [DataMember(Name = "urls")] public RenderUrls Urls { get; set; }

        public bool IsFinished => Status == "done" || Status == "failed" || Status == "canceled";
    }

    [DataContract]
    public sealed class RenderEnvelope
    {
        [DataMember(Name = "render")] public Render Render { get; set; }
        /// <summary>The balance after this render.</summary>
        [DataMember(Name = "credits")] public int? Credits { get; set; }
    }

    /// <summary>POST /api/v1/renders as plugins/contract/render_request.json: optional fields that
    /// are not set are left out, so the server's defaults apply.</summary>
    [DataContract]
    public sealed class RenderRequestBody
    {
        [DataMember(Name = "image_base64", Order = 1)] public string ImageBase64 { get; set; }
        [DataMember(Name = "kind", Order = 2)] public string Kind { get; set; }
        [DataMember(Name = "scene_type", Order = 3)] public string SceneType { get; set; }
        [DataMember(Name = "resolution", Order = 4)] public string Resolution { get; set; }
        [DataMember(Name = "architectural_style", Order = 5, EmitDefaultValue = false)] public string ArchitecturalStyle { get; set; }
        [DataMember(Name = "lighting", Order = 6, EmitDefaultValue = false)] public string Lighting { get; set; }
        [DataMember(Name = "prompt", Order = 7, EmitDefaultValue = false)] public string Prompt { get; set; }
        [DataMember(Name = "input_type", Order = 8, EmitDefaultValue = false)] public string InputType { get; set; }
        [DataMember(Name = "project", Order = 9, EmitDefaultValue = false)] public string Project { get; set; }
        [DataMember(Name = "source", Order = 10)] public string Source { get; set; }
    }
}
