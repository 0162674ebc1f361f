namespace Registry.Storage.S3;

/// <summary>Where the S3 blob store keeps its objects (section <c>Storage:S3</c>).</summary>
public sealed class S3BlobStoreOptions
{
    public const string SectionName = "Storage:S3";

    /// <summary>Bucket holding blobs and upload pieces (required).</summary>
    public string Bucket { get; set; } = "";

    /// <summary>Key prefix, e.g. <c>registry/</c>, so several registries can share a bucket.</summary>
    public string Prefix { get; set; } = "";

    /// <summary>AWS region (signing region for other S3 servers).</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>Endpoint of an S3-compatible server (Ceph RGW, MinIO, …); empty for AWS.</summary>
    public string? ServiceUrl { get; set; }

    /// <summary>Path-style addressing (<c>host/bucket/key</c>); most S3-compatible servers want it.</summary>
    public bool ForcePathStyle { get; set; } = true;

    /// <summary>Static credentials; when empty the AWS SDK's default chain (environment, profile, instance role) is used.</summary>
    public string? AccessKey { get; set; }

    public string? SecretKey { get; set; }

    /// <summary>Create the bucket at start when it does not exist.</summary>
    public bool CreateBucket { get; set; }

    /// <summary>
    /// Answer blob GETs with a 307 to a presigned S3 URL, so layer bytes flow from S3 to the client
    /// directly (clients must reach the S3 endpoint). Ignored with encryption at rest.
    /// </summary>
    public bool RedirectPulls { get; set; }

    /// <summary>How long a presigned pull URL stays valid.</summary>
    public TimeSpan RedirectLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Size of the pieces an upload is stored in, and so of the multipart parts of large blobs: at least
    /// S3's 5 MiB part minimum. Each chunk being written holds up to two pieces in memory.
    /// </summary>
    public int PieceSize { get; set; } = 8 * 1024 * 1024;
}
