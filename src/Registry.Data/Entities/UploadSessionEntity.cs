namespace Registry.Data.Entities;

/// <summary>
/// A blob upload in progress. <see cref="Offset"/> is the number of bytes acknowledged to the
/// client; it lives here, not in process memory, so an upload survives a restart and can
/// continue on another replica.
/// </summary>
public sealed class UploadSessionEntity
{
    public required string Id { get; set; }

    public long RepositoryId { get; set; }

    public long Offset { get; set; }

    /// <summary>The blob store's record of where the acknowledged bytes are (see <c>UploadProgress</c>); null for the filesystem.</summary>
    public string? StorageState { get; set; }

    public DateTime StartedAt { get; set; }

    public DateTime UpdatedAt { get; set; }
}
