namespace Registry.GarbageCollection;

/// <summary>What one garbage collection run removed, or with a dry run would remove.</summary>
internal sealed record GarbageReport(
    bool DryRun,
    IReadOnlyList<ManifestRow> Manifests,
    IReadOnlyList<BlobRow> Blobs,
    IReadOnlyList<LinkRow> Links)
{
    public long BlobBytes => Blobs.Sum(b => b.Size);
}

/// <summary>A manifest in a repository (a row of the collector's queries).</summary>
internal sealed class ManifestRow
{
    public long Id { get; set; }

    public string Repository { get; set; } = "";

    public string Digest { get; set; } = "";
}

/// <summary>A blob and its size.</summary>
internal sealed class BlobRow
{
    public string Digest { get; set; } = "";

    public long Size { get; set; }
}

/// <summary>A blob's link into a repository.</summary>
internal sealed class LinkRow
{
    public long RepositoryId { get; set; }

    public string Repository { get; set; } = "";

    public string Digest { get; set; } = "";
}
