using System.Globalization;
using System.Security.Cryptography;
using Registry.Core.Content;

namespace Registry.Storage.Encryption;

/// <summary>
/// Encryption at rest over any blob store (<see cref="EncryptedBlobFormat"/>): the inner store only
/// ever holds sealed chunk records and the footer. An upload's data key, wrapped by the master key,
/// lives in its progress record, with the sealed last partial chunk (under 64 KiB) so the next chunk
/// can continue it; the inner upload holds whole records only. Commit appends that last chunk and
/// the footer, then lets the inner store commit.
/// </summary>
public sealed class EncryptingBlobStore(IBlobStore inner, IMasterKeyProvider keys) : IBlobStore
{
    public async Task<long?> GetLengthAsync(Digest digest, CancellationToken cancellationToken) =>
        await inner.GetLengthAsync(digest, cancellationToken) is { } stored ? EncryptedBlobFormat.PlaintextLength(stored) : null;

    public async Task<Stream?> OpenReadAsync(Digest digest, CancellationToken cancellationToken)
    {
        var stored = await inner.OpenReadAsync(digest, cancellationToken);
        if (stored is null)
        {
            return null;
        }

        try
        {
            if (stored.Length < EncryptedBlobFormat.FooterSize)
            {
                throw new BlobUnreadableException($"{digest} is not an encrypted blob (too short)");
            }

            var footer = new byte[EncryptedBlobFormat.FooterSize];
            stored.Position = stored.Length - EncryptedBlobFormat.FooterSize;
            await stored.ReadExactlyAsync(footer, cancellationToken);
            var (plaintextLength, dataKey) = EncryptedBlobFormat.ReadFooter(keys, footer);
            if (EncryptedBlobFormat.SealedLength(plaintextLength) + EncryptedBlobFormat.FooterSize != stored.Length)
            {
                throw new BlobUnreadableException($"{digest}: stored length does not match its authenticated plaintext length");
            }

            stored.Position = 0;
            return new OpeningReadStream(stored, EncryptedBlobFormat.Cipher(dataKey), plaintextLength, EncryptedBlobFormat.ChunksIn(plaintextLength), []);
        }
        catch
        {
            await stored.DisposeAsync();
            throw;
        }
    }

    /// <summary>Never: the backend holds only sealed bytes, which only this store can open.</summary>
    public Task<Uri?> GetDownloadUrlAsync(Digest digest, CancellationToken cancellationToken) => Task.FromResult<Uri?>(null);

    public Task<bool> DeleteAsync(Digest digest, CancellationToken cancellationToken) => inner.DeleteAsync(digest, cancellationToken);

    public Task StartUploadAsync(string uploadId, CancellationToken cancellationToken) => inner.StartUploadAsync(uploadId, cancellationToken);

    public async Task<UploadProgress> WriteUploadAsync(string uploadId, UploadProgress current, Stream source, CancellationToken cancellationToken)
    {
        var state = SealedUpload.Parse(current.State) ?? SealedUpload.Start(keys);
        var dataKey = EncryptedBlobFormat.UnwrapForUpload(keys, state.WrappedKey);
        using var aes = EncryptedBlobFormat.Cipher(dataKey);
        var fullChunks = state.Inner.Length / EncryptedBlobFormat.RecordSize;
        var sealing = new SealingReadStream(source, aes, fullChunks, state.OpenTail(aes, fullChunks));
        var written = await inner.WriteUploadAsync(uploadId, state.Inner, sealing, cancellationToken);
        if (sealing.SourceBytes == 0)
        {
            return current;
        }

        var tailIndex = fullChunks + sealing.ChunksSealed;
        var next = new SealedUpload(state.WrappedKey, written, SealedUpload.SealTail(aes, tailIndex, sealing.Remainder));
        return new UploadProgress(current.Length + sealing.SourceBytes, next.Format());
    }

    public async Task<Stream> OpenUploadReadAsync(string uploadId, UploadProgress current, CancellationToken cancellationToken)
    {
        if (current.Length == 0 || SealedUpload.Parse(current.State) is not { } state)
        {
            return Stream.Null;
        }

        var aes = EncryptedBlobFormat.Cipher(EncryptedBlobFormat.UnwrapForUpload(keys, state.WrappedKey));
        var fullChunks = state.Inner.Length / EncryptedBlobFormat.RecordSize;
        var tail = state.OpenTail(aes, fullChunks);
        var sealedStream = state.Inner.Length == 0 ? Stream.Null : await inner.OpenUploadReadAsync(uploadId, state.Inner, cancellationToken);
        return new OpeningReadStream(sealedStream, aes, current.Length, fullChunks, tail);
    }

    public async Task CommitUploadAsync(string uploadId, UploadProgress current, Digest digest, CancellationToken cancellationToken)
    {
        var state = SealedUpload.Parse(current.State) ?? SealedUpload.Start(keys);
        var dataKey = EncryptedBlobFormat.UnwrapForUpload(keys, state.WrappedKey);
        var ending = new MemoryStream();
        ending.Write(state.SealedTail);
        ending.Write(EncryptedBlobFormat.Footer(keys, dataKey, current.Length));
        ending.Position = 0;
        var complete = await inner.WriteUploadAsync(uploadId, state.Inner, ending, cancellationToken);
        await inner.CommitUploadAsync(uploadId, complete, digest, cancellationToken);
    }

    public Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken) => inner.DeleteUploadAsync(uploadId, cancellationToken);

    /// <summary>This store's progress record: the wrapped data key, the inner store's progress (whole records), the sealed last partial chunk.</summary>
    private sealed record SealedUpload(string WrappedKey, UploadProgress Inner, byte[] SealedTail)
    {
        public static SealedUpload Start(IMasterKeyProvider keys) =>
            new(EncryptedBlobFormat.WrapForUpload(keys, RandomNumberGenerator.GetBytes(EncryptedBlobFormat.KeySize)), UploadProgress.Empty, []);

        public static SealedUpload? Parse(string? state)
        {
            if (string.IsNullOrEmpty(state))
            {
                return null;
            }

            var parts = state.Split('|', 4);
            if (parts.Length != 4)
            {
                throw new FormatException("malformed encrypted upload state");
            }

            return new SealedUpload(parts[0], new UploadProgress(long.Parse(parts[1], CultureInfo.InvariantCulture), parts[3].Length == 0 ? null : parts[3]), Convert.FromBase64String(parts[2]));
        }

        public static byte[] SealTail(AesGcm aes, long index, byte[] plaintext)
        {
            if (plaintext.Length == 0)
            {
                return [];
            }

            var record = new byte[plaintext.Length + EncryptedBlobFormat.TagSize];
            EncryptedBlobFormat.Seal(aes, index, plaintext, record);
            return record;
        }

        public byte[] OpenTail(AesGcm aes, long index)
        {
            var plaintext = new byte[Math.Max(0, SealedTail.Length - EncryptedBlobFormat.TagSize)];
            if (SealedTail.Length > 0)
            {
                EncryptedBlobFormat.Open(aes, index, SealedTail, plaintext);
            }

            return plaintext;
        }

        public string Format() =>
            string.Create(CultureInfo.InvariantCulture, $"{WrappedKey}|{Inner.Length}|{Convert.ToBase64String(SealedTail)}|{Inner.State}");
    }
}
