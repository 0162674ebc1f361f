namespace Registry.Core.Manifests;

/// <summary>
/// What the registry needs to know about a manifest it stores: its type, what it references
/// (blobs for an image manifest, manifests for an index) and its referrer facts.
/// The bytes themselves are kept as received; this is never serialized back.
/// </summary>
public sealed record ParsedManifest(
    string MediaType,
    string? ArtifactType,
    Descriptor? Config,
    IReadOnlyList<Descriptor> Layers,
    IReadOnlyList<Descriptor> Manifests,
    Descriptor? Subject,
    IReadOnlyDictionary<string, string>? Annotations)
{
    /// <summary>The blobs that must exist in the repository before this manifest is accepted.</summary>
    public IEnumerable<Descriptor> RequiredBlobs =>
        (Config is null ? Layers : Layers.Prepend(Config)).Where(d => !MediaTypes.IsForeignLayer(d.MediaType));

    /// <summary>The artifact type a referrers response reports: artifactType, else the config's media type.</summary>
    public string? EffectiveArtifactType => ArtifactType ?? (MediaTypes.IsIndex(MediaType) ? null : Config?.MediaType);
}
