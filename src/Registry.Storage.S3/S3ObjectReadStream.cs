using Amazon.S3;
using Amazon.S3.Model;

namespace Registry.Storage.S3;

/// <summary>
/// A seekable read-only stream over one S3 object: reads continue one ranged GET from the current
/// position; a seek drops it, and the next read starts a new one there.
/// </summary>
internal sealed class S3ObjectReadStream(IAmazonS3 client, string bucket, string key, long length) : SeekableReadStream
{
    private GetObjectResponse? _response;
    private long _responsePosition = -1;

    public override long Length => length;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Position >= length || buffer.IsEmpty)
        {
            return 0;
        }

        if (_response is null || _responsePosition != Position)
        {
            _response?.Dispose();
            _response = await client.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = key, ByteRange = new ByteRange(Position, length - 1) }, cancellationToken);
            _responsePosition = Position;
        }

        var read = await _response.ResponseStream.ReadAsync(buffer[..(int)Math.Min(buffer.Length, length - Position)], cancellationToken);
        if (read == 0)
        {
            throw new IOException($"s3://{bucket}/{key} ended at {Position}, before its length {length}");
        }

        Position += read;
        _responsePosition = Position;
        return read;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _response?.Dispose();
            _response = null;
        }

        base.Dispose(disposing);
    }
}
