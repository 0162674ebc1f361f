using System.Security.Cryptography;

namespace Registry.Storage.Encryption;

/// <summary>
/// The plaintext of an encrypted blob or upload, front to back or from any position when the sealed
/// stream can seek: each read opens (authenticates and decrypts) the one chunk record it falls in.
/// An upload's last partial chunk is not in the sealed stream (which then holds <c>sealedChunks</c>
/// records) but passed in plaintext as <c>tail</c>. Owns the sealed stream and the cipher.
/// </summary>
internal sealed class OpeningReadStream(Stream sealedStream, AesGcm aes, long plaintextLength, long sealedChunks, byte[] tail) : SeekableReadStream
{
    private readonly byte[] _record = new byte[EncryptedBlobFormat.RecordSize];
    private readonly byte[] _plain = new byte[EncryptedBlobFormat.ChunkSize];
    private long _chunk = -1;
    private int _chunkLength;

    public override bool CanSeek => sealedStream.CanSeek;

    public override long Length => plaintextLength;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Position >= plaintextLength || buffer.IsEmpty)
        {
            return 0;
        }

        var chunk = Position / EncryptedBlobFormat.ChunkSize;
        if (chunk != _chunk)
        {
            await LoadAsync(chunk, cancellationToken);
        }

        var from = (int)(Position - (chunk * EncryptedBlobFormat.ChunkSize));
        var count = Math.Min(buffer.Length, _chunkLength - from);
        _plain.AsMemory(from, count).CopyTo(buffer);
        Position += count;
        return count;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            sealedStream.Dispose();
            aes.Dispose();
        }

        base.Dispose(disposing);
    }

    private async ValueTask LoadAsync(long chunk, CancellationToken cancellationToken)
    {
        _chunkLength = (int)Math.Min(EncryptedBlobFormat.ChunkSize, plaintextLength - (chunk * EncryptedBlobFormat.ChunkSize));
        if (chunk >= sealedChunks)
        {
            tail.CopyTo(_plain, 0);
        }
        else
        {
            var recordLength = _chunkLength + EncryptedBlobFormat.TagSize;
            var at = chunk * EncryptedBlobFormat.RecordSize;
            if (sealedStream.CanSeek)
            {
                sealedStream.Position = at;
            }
            else if (chunk != _chunk + 1)
            {
                throw new NotSupportedException("the sealed stream is read front to back");
            }

            var read = await StreamFill.ReadAsync(sealedStream, _record.AsMemory(0, recordLength), cancellationToken);
            if (read != recordLength)
            {
                throw new BlobUnreadableException($"encrypted chunk {chunk} is truncated at rest");
            }

            EncryptedBlobFormat.Open(aes, chunk, _record.AsSpan(0, recordLength), _plain);
        }

        _chunk = chunk;
    }
}
