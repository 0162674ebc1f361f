using Amazon.S3;
using Amazon.S3.Model;

namespace Registry.Storage.S3;

/// <summary>An upload's acknowledged bytes, read front to back from its pieces in order.</summary>
internal sealed class UploadPiecesReadStream(IAmazonS3 client, string bucket, IReadOnlyList<(string Key, int Length)> pieces) : ReadOnlyStream
{
    private int _next;
    private GetObjectResponse? _response;
    private int _left;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_left == 0)
        {
            _response?.Dispose();
            _response = null;
            if (_next == pieces.Count || buffer.IsEmpty)
            {
                return 0;
            }

            var (key, length) = pieces[_next++];
            if (length == 0)
            {
                continue;
            }

            _response = await client.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = key, ByteRange = new ByteRange(0, length - 1) }, cancellationToken);
            _left = length;
        }

        var read = await _response!.ResponseStream.ReadAsync(buffer[..Math.Min(buffer.Length, _left)], cancellationToken);
        if (read == 0)
        {
            throw new IOException($"upload piece s3://{bucket}/{pieces[_next - 1].Key} is shorter than recorded");
        }

        _left -= read;
        return read;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _response?.Dispose();
        }

        base.Dispose(disposing);
    }
}
