namespace Registry.Data.Entities;

/// <summary>A manifest in a repository: the exact bytes received, and the facts the API queries by.</summary>
public sealed class ManifestEntity
{
    public long Id { get; set; }

    public long RepositoryId { get; set; }

    public required string Digest { get; set; }

    public required string MediaType { get; set; }

    public required byte[] Content { get; set; }

    /// <summary>artifactType, else the config's media type: what the referrers API reports and filters by.</summary>
    public string? ArtifactType { get; set; }

    /// <summary>The digest of the <c>subject</c> this manifest refers to, for the referrers API.</summary>
    public string? SubjectDigest { get; set; }

    /// <summary>The manifest's annotations as a JSON object, copied into referrer descriptors.</summary>
    public string? AnnotationsJson { get; set; }

    public DateTime CreatedAt { get; set; }

    public List<ManifestReferenceEntity> References { get; set; } = [];
}
