using System.Security.Cryptography;

namespace Registry.Storage.Encryption;

/// <summary>
/// The plaintext of an encrypted blob or upload, front to back or from any position when the sealed
/// stream can seek: each read opens (authenticates and decrypts) the one chunk record it falls in.
/// An upload's last partial chunk is not in the sealed stream (which then holds <c>sealedChunks</c>
/// records) but passed in plaintext as <c>tail</c>. Owns the sealed stream and the cipher.
/// </summary>
internal sealed class OpeningReadStream(Stream sealedStream, AesGcm aes, long plaintextLength, long sealedChunks, byte[] tail) : Stream
{
    private readonly byte[] _record = new byte[EncryptedBlobFormat.RecordSize];
    private readonly byte[] _plain = new byte[EncryptedBlobFormat.ChunkSize];
    private long _chunk = -1;
    private int _chunkLength;
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => sealedStream.CanSeek;

    public override bool CanWrite => false;

    public override long Length => plaintextLength;

    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position >= plaintextLength || buffer.IsEmpty)
        {
            return 0;
        }

        var chunk = _position / EncryptedBlobFormat.ChunkSize;
        if (chunk != _chunk)
        {
            await LoadAsync(chunk, cancellationToken);
        }

        var from = (int)(_position - (chunk * EncryptedBlobFormat.ChunkSize));
        var count = Math.Min(buffer.Length, _chunkLength - from);
        _plain.AsMemory(from, count).CopyTo(buffer);
        _position += count;
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        SeekOrigin.End => plaintextLength + offset,
        _ => throw new ArgumentOutOfRangeException(nameof(origin)),
    };

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

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
