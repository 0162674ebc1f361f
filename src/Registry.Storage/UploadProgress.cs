namespace Registry.Storage;

/// <summary>
/// How far an upload has got: its acknowledged length and the store's own record of where those bytes
/// are (null for stores that need none, such as the filesystem). The caller persists both together,
/// atomically with the offset it acknowledges, and hands them back on the next call; so a store
/// whose pieces are separate objects knows exactly which ones hold the acknowledged bytes, whichever
/// replica wrote them, and pieces left by a failed or losing concurrent write are never used.
/// </summary>
public readonly record struct UploadProgress(long Length, string? State)
{
    public static UploadProgress Empty => new(0, null);
}
