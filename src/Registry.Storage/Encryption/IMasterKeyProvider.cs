namespace Registry.Storage.Encryption;

/// <summary>
/// Master keys that wrap the per-blob data keys. New blobs are wrapped with the current key; a blob
/// names the key that wrapped it, so older keys keep serving older blobs after a rotation.
/// </summary>
public interface IMasterKeyProvider
{
    /// <summary>Id of the key new blobs are wrapped with (at most 47 ASCII letters, digits, '-', '_' or '.').</summary>
    string CurrentKeyId { get; }

    /// <summary>The 256-bit key <paramref name="keyId"/>; throws <see cref="BlobUnreadableException"/> when it is unknown.</summary>
    ReadOnlySpan<byte> Key(string keyId);
}
