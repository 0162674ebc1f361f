using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Registry.Storage.Encryption;

/// <summary>
/// How an encrypted blob is laid out at rest: the plaintext in chunks of <see cref="ChunkSize"/>,
/// each sealed with AES-256-GCM under the blob's own data key (nonce = the chunk's index, so chunks
/// cannot be reordered or swapped between blobs), then a fixed-size footer holding the data key
/// wrapped by a master key. The wrap authenticates the footer's fields, among them the plaintext
/// length, so truncation and a wrong master key are both detected before a byte is served. The
/// footer is at the end because uploads are appended to and their length is known only at commit.
/// </summary>
internal static class EncryptedBlobFormat
{
    public const int ChunkSize = 64 * 1024;
    public const int TagSize = 16;
    public const int RecordSize = ChunkSize + TagSize;
    public const int KeySize = 32;
    public const int MaxKeyIdLength = 47;
    public const int FooterSize = 128;

    private const int NonceSize = 12;
    private static readonly byte[] Magic = "RGENC001"u8.ToArray();
    private static readonly byte[] UploadMagic = "RGUPL001"u8.ToArray();

    /// <summary>Stored size of <paramref name="plaintextLength"/> bytes of chunks (without the footer).</summary>
    public static long SealedLength(long plaintextLength) => plaintextLength + (ChunksIn(plaintextLength) * TagSize);

    public static long ChunksIn(long plaintextLength) => (plaintextLength + ChunkSize - 1) / ChunkSize;

    /// <summary>Plaintext length of a stored blob of <paramref name="storedLength"/> bytes, footer included.</summary>
    public static long PlaintextLength(long storedLength)
    {
        var body = storedLength - FooterSize;
        return body <= 0 ? 0 : body - (((body + RecordSize - 1) / RecordSize) * TagSize);
    }

    /// <summary>The cipher for one blob's chunks.</summary>
    public static AesGcm Cipher(ReadOnlySpan<byte> dataKey) => new(dataKey, TagSize);

    /// <summary>Seals chunk <paramref name="index"/> into <paramref name="record"/> (plaintext length + tag).</summary>
    public static void Seal(AesGcm aes, long index, ReadOnlySpan<byte> plaintext, Span<byte> record) =>
        aes.Encrypt(Nonce(index), plaintext, record[..plaintext.Length], record.Slice(plaintext.Length, TagSize));

    /// <summary>Opens one chunk record; throws <see cref="BlobUnreadableException"/> if it was altered.</summary>
    public static void Open(AesGcm aes, long index, ReadOnlySpan<byte> record, Span<byte> plaintext)
    {
        try
        {
            aes.Decrypt(Nonce(index), record[..^TagSize], record[^TagSize..], plaintext[..(record.Length - TagSize)]);
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new BlobUnreadableException($"encrypted chunk {index} failed authentication: altered at rest", e);
        }
    }

    /// <summary>The footer for a finished blob: <paramref name="dataKey"/> wrapped under the current master key, binding the length.</summary>
    public static byte[] Footer(IMasterKeyProvider keys, ReadOnlySpan<byte> dataKey, long plaintextLength)
    {
        var footer = new byte[FooterSize];
        var keyId = keys.CurrentKeyId;
        Magic.CopyTo(footer, 0);
        BinaryPrimitives.WriteInt64BigEndian(footer.AsSpan(8), plaintextLength);
        footer[16] = (byte)keyId.Length;
        Encoding.ASCII.GetBytes(keyId, footer.AsSpan(17));
        Wrap(keys.Key(keyId), dataKey, footer.AsSpan(0, 64), footer.AsSpan(64, NonceSize + KeySize + TagSize));
        return footer;
    }

    /// <summary>Reads a footer: the plaintext length and the unwrapped data key.</summary>
    public static (long PlaintextLength, byte[] DataKey) ReadFooter(IMasterKeyProvider keys, ReadOnlySpan<byte> footer)
    {
        if (footer.Length != FooterSize || !footer[..8].SequenceEqual(Magic) || footer[16] > MaxKeyIdLength)
        {
            throw new BlobUnreadableException("not an encrypted blob (footer missing or damaged)");
        }

        var keyId = Encoding.ASCII.GetString(footer.Slice(17, footer[16]));
        var dataKey = Unwrap(keys.Key(keyId), footer[..64], footer.Slice(64, NonceSize + KeySize + TagSize), keyId);
        return (BinaryPrimitives.ReadInt64BigEndian(footer[8..]), dataKey);
    }

    /// <summary>An upload's data key wrapped for its progress record (no length yet): key id, then the wrap.</summary>
    public static string WrapForUpload(IMasterKeyProvider keys, ReadOnlySpan<byte> dataKey)
    {
        var keyId = keys.CurrentKeyId;
        var wrapped = new byte[NonceSize + KeySize + TagSize];
        Wrap(keys.Key(keyId), dataKey, UploadAad(keyId), wrapped);
        return keyId + ":" + Convert.ToBase64String(wrapped);
    }

    public static byte[] UnwrapForUpload(IMasterKeyProvider keys, string wrapped)
    {
        var separator = wrapped.LastIndexOf(':');
        var keyId = wrapped[..separator];
        return Unwrap(keys.Key(keyId), UploadAad(keyId), Convert.FromBase64String(wrapped[(separator + 1)..]), keyId);
    }

    private static byte[] UploadAad(string keyId) => [.. UploadMagic, .. Encoding.ASCII.GetBytes(keyId)];

    private static void Wrap(ReadOnlySpan<byte> masterKey, ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> aad, Span<byte> output)
    {
        RandomNumberGenerator.Fill(output[..NonceSize]);
        using var aes = new AesGcm(masterKey, TagSize);
        aes.Encrypt(output[..NonceSize], dataKey, output.Slice(NonceSize, KeySize), output.Slice(NonceSize + KeySize, TagSize), aad);
    }

    private static byte[] Unwrap(ReadOnlySpan<byte> masterKey, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> wrapped, string keyId)
    {
        var dataKey = new byte[KeySize];
        using var aes = new AesGcm(masterKey, TagSize);
        try
        {
            aes.Decrypt(wrapped[..NonceSize], wrapped.Slice(NonceSize, KeySize), wrapped.Slice(NonceSize + KeySize, TagSize), dataKey, aad);
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new BlobUnreadableException($"the data key does not unwrap with master key '{keyId}': wrong master key, or the blob was altered", e);
        }

        return dataKey;
    }

    private static byte[] Nonce(long index)
    {
        var nonce = new byte[NonceSize];
        BinaryPrimitives.WriteInt64BigEndian(nonce.AsSpan(4), index);
        return nonce;
    }
}
