using System.Security.Cryptography;

namespace Registry.Storage.Encryption;

/// <summary>
/// Reads plaintext from a request body (after an optional <c>prefix</c> of plaintext already received)
/// and yields the sealed records of every full chunk, numbered from <c>firstIndex</c>. What is left at
/// the end, less than a chunk, is not yielded but kept in <see cref="Remainder"/> for the caller to
/// seal into the upload's progress record.
/// </summary>
internal sealed class SealingReadStream(Stream source, AesGcm aes, long firstIndex, byte[] prefix) : ReadOnlyStream
{
    private readonly byte[] _plain = new byte[EncryptedBlobFormat.ChunkSize];
    private readonly byte[] _record = new byte[EncryptedBlobFormat.RecordSize];
    private int _recordOffset = EncryptedBlobFormat.RecordSize;
    private readonly long _firstIndex = firstIndex;
    private long _index = firstIndex;
    private bool _ended;

    /// <summary>Plaintext bytes read from the source (the prefix not included).</summary>
    public long SourceBytes { get; private set; }

    /// <summary>Full chunks yielded so far.</summary>
    public long ChunksSealed => _index - _firstIndex;

    /// <summary>The plaintext after the last full chunk, once the source has ended.</summary>
    public byte[] Remainder { get; private set; } = [];

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_recordOffset == EncryptedBlobFormat.RecordSize)
        {
            if (_ended || !await SealNextAsync(cancellationToken))
            {
                return 0;
            }
        }

        var count = Math.Min(buffer.Length, EncryptedBlobFormat.RecordSize - _recordOffset);
        _record.AsMemory(_recordOffset, count).CopyTo(buffer);
        _recordOffset += count;
        return count;
    }

    private async ValueTask<bool> SealNextAsync(CancellationToken cancellationToken)
    {
        var filled = 0;
        if (prefix.Length > 0)
        {
            prefix.CopyTo(_plain, 0);
            filled = prefix.Length;
            prefix = [];
        }

        var read = await StreamFill.ReadAsync(source, _plain.AsMemory(filled), cancellationToken);
        SourceBytes += read;
        filled += read;
        if (filled < EncryptedBlobFormat.ChunkSize)
        {
            _ended = true;
            Remainder = _plain[..filled];
            return false;
        }

        EncryptedBlobFormat.Seal(aes, _index++, _plain, _record);
        _recordOffset = 0;
        return true;
    }
}
