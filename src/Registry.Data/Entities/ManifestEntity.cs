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

    /// <summary>
    /// When the manifest was pushed or last lost a tag or a parent index. Collection of untagged
    /// manifests spares it for a grace period after this (a multi-platform push puts the children before
    /// the index that tags them; a moved tag may be moved back).
    /// </summary>
    public DateTime TouchedAt { get; set; }

    public List<ManifestReferenceEntity> References { get; set; } = [];
}
