using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Registry.Core.Content;

namespace Registry.Storage.S3;

/// <summary>
/// Blobs as S3 objects named by digest (<c>blobs/sha256/ab/abcd…</c>); uploads as pieces of a fixed
/// size under <c>uploads/&lt;id&gt;/</c>, each a plain object (so any replica can read them back to
/// re-hash), recorded in the upload's progress (<see cref="UploadPieces"/>). Completing an upload has
/// S3 assemble the pieces server-side (one copy, or a multipart upload of part copies), so the bytes
/// never pass through the registry twice and a blob appears whole or not at all.
/// </summary>
public sealed class S3BlobStore : IBlobStore, IDisposable
{
    private const int MinimumPieceSize = 5 * 1024 * 1024;
    private const int SmallChunk = 256 * 1024;

    private readonly AmazonS3Client _client;
    private readonly string _bucket;
    private readonly string _prefix;
    private readonly int _pieceSize;
    private readonly TimeSpan? _redirectLifetime;

    public S3BlobStore(S3BlobStoreOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Bucket);
        if (options.PieceSize < MinimumPieceSize)
        {
            throw new ArgumentException($"Storage:S3:PieceSize must be at least {MinimumPieceSize} (S3's smallest multipart part)", nameof(options));
        }

        _bucket = options.Bucket;
        _prefix = options.Prefix;
        _pieceSize = options.PieceSize;
        _redirectLifetime = options.RedirectPulls ? options.RedirectLifetime : null;
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            // S3-compatible servers differ in the checksum trailers SDK v4 sends by default; send them only where S3 requires them.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (options.ServiceUrl is { Length: > 0 } serviceUrl)
        {
            config.ServiceURL = serviceUrl;
            config.AuthenticationRegion = options.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }

        _client = options.AccessKey is { Length: > 0 } accessKey
            ? new AmazonS3Client(new BasicAWSCredentials(accessKey, options.SecretKey), config)
            : new AmazonS3Client(config);
        Description = $"S3 bucket '{_bucket}'" + (options.ServiceUrl is { Length: > 0 } url ? $" at {url}" : $" in {options.Region}");
    }

    /// <summary>Where this store points, for messages (never with credentials).</summary>
    public string Description { get; }

    /// <summary>Failures that mean S3 is unreachable or failing (network, 5xx), not that a request was wrong.</summary>
    public static bool IsUnavailable(Exception e) => e switch
    {
        AmazonServiceException service => service.StatusCode == 0 || (int)service.StatusCode >= 500,
        AmazonClientException or HttpRequestException or System.Net.Sockets.SocketException => true,
        IOException { InnerException: System.Net.Sockets.SocketException } => true,
        _ => false,
    };

    /// <summary>Checks the bucket is reachable (creating it if asked to), so a misconfiguration fails at start.</summary>
    public async Task EnsureBucketAsync(bool create, CancellationToken cancellationToken)
    {
        try
        {
            await _client.GetBucketLocationAsync(new GetBucketLocationRequest { BucketName = _bucket }, cancellationToken);
        }
        catch (AmazonS3Exception e) when (create && e.StatusCode == HttpStatusCode.NotFound)
        {
            await _client.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, cancellationToken);
        }
    }

    public async Task<long?> GetLengthAsync(Digest digest, CancellationToken cancellationToken) =>
        await HeadAsync(BlobKey(digest), cancellationToken);

    public async Task<Stream?> OpenReadAsync(Digest digest, CancellationToken cancellationToken)
    {
        var key = BlobKey(digest);
        return await HeadAsync(key, cancellationToken) is { } length ? new S3ObjectReadStream(_client, _bucket, key, length) : null;
    }

    /// <summary>A presigned GET of the blob's object, when <see cref="S3BlobStoreOptions.RedirectPulls"/> is on.</summary>
    public async Task<Uri?> GetDownloadUrlAsync(Digest digest, CancellationToken cancellationToken)
    {
        if (_redirectLifetime is not { } lifetime)
        {
            return null;
        }

        var url = await _client.GetPreSignedURLAsync(new GetPreSignedUrlRequest
        {
            BucketName = _bucket,
            Key = BlobKey(digest),
            Verb = HttpVerb.GET,
            Expires = DateTime.UtcNow + lifetime,
            Protocol = _client.Config.ServiceURL?.StartsWith("http://", StringComparison.OrdinalIgnoreCase) == true ? Protocol.HTTP : Protocol.HTTPS,
        });
        return new Uri(url);
    }

    public async Task<bool> DeleteAsync(Digest digest, CancellationToken cancellationToken)
    {
        var key = BlobKey(digest);
        if (await HeadAsync(key, cancellationToken) is null)
        {
            return false;
        }

        await _client.DeleteObjectAsync(_bucket, key, cancellationToken);
        return true;
    }

    public Task StartUploadAsync(string uploadId, CancellationToken cancellationToken)
    {
        UploadPrefix(uploadId);
        return Task.CompletedTask;
    }

    public async Task<UploadProgress> WriteUploadAsync(string uploadId, UploadProgress current, Stream source, CancellationToken cancellationToken)
    {
        var recorded = UploadPieces.Parse(current.State, _pieceSize);
        var pieceSize = recorded.PieceSize;
        var index = (int)(current.Length / pieceSize);
        var kept = recorded.Nonces.Take(index).ToList();
        var nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var filled = (int)(current.Length % pieceSize);
        byte[]? prefix = null;
        var prefixLength = 0;
        if (filled == 0)
        {
            // Most chunks of small layers fit a small buffer: they are stored without holding a piece-sized one.
            prefix = ArrayPool<byte>.Shared.Rent(SmallChunk);
            prefixLength = await StreamFill.ReadAsync(source, prefix.AsMemory(0, SmallChunk), cancellationToken);
            if (prefixLength < SmallChunk)
            {
                try
                {
                    if (prefixLength == 0)
                    {
                        return current;
                    }

                    await PutAsync(PieceKey(uploadId, index, nonce), prefix, prefixLength, cancellationToken);
                    return new UploadProgress(current.Length + prefixLength, new UploadPieces(pieceSize, [.. kept, nonce]).Format());
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(prefix);
                }
            }
        }

        var buffer = ArrayPool<byte>.Shared.Rent(pieceSize);
        byte[]? spare = null;
        Task storing = Task.CompletedTask;
        try
        {
            var received = 0L;
            if (filled > 0)
            {
                // A chunk that starts inside a piece rewrites that piece: its acknowledged head comes first.
                await ReadPieceHeadAsync(PieceKey(uploadId, index, recorded.Nonces[index]), buffer.AsMemory(0, filled), cancellationToken);
            }
            else
            {
                prefix.AsSpan(0, prefixLength).CopyTo(buffer);
                filled = prefixLength;
                received = prefixLength;
            }

            while (true)
            {
                var read = await StreamFill.ReadAsync(source, buffer.AsMemory(filled, pieceSize - filled), cancellationToken);
                received += read;
                filled += read;
                if (filled < pieceSize)
                {
                    break;
                }

                await storing;
                storing = PutAsync(PieceKey(uploadId, index++, nonce), buffer, pieceSize, cancellationToken);
                kept.Add(nonce);
                spare ??= ArrayPool<byte>.Shared.Rent(pieceSize);
                (buffer, spare) = (spare, buffer);
                filled = 0;
            }

            await storing;
            if (filled > 0)
            {
                await PutAsync(PieceKey(uploadId, index, nonce), buffer, filled, cancellationToken);
                kept.Add(nonce);
            }

            return new UploadProgress(current.Length + received, new UploadPieces(pieceSize, kept).Format());
        }
        catch
        {
            // Pieces already sent under this nonce are not in any record; they go with the upload.
            await storing.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
        finally
        {
            if (prefix is not null)
            {
                ArrayPool<byte>.Shared.Return(prefix);
            }

            ArrayPool<byte>.Shared.Return(buffer);
            if (spare is not null)
            {
                ArrayPool<byte>.Shared.Return(spare);
            }
        }
    }

    public Task<Stream> OpenUploadReadAsync(string uploadId, UploadProgress current, CancellationToken cancellationToken) =>
        Task.FromResult<Stream>(new UploadPiecesReadStream(_client, _bucket, Pieces(uploadId, current)));

    public async Task CommitUploadAsync(string uploadId, UploadProgress current, Digest digest, CancellationToken cancellationToken)
    {
        var key = BlobKey(digest);
        if (await HeadAsync(key, cancellationToken) is null)
        {
            await AssembleAsync(key, Pieces(uploadId, current), cancellationToken);
        }

        await DeleteUploadAsync(uploadId, cancellationToken);
    }

    public async Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken)
    {
        var prefix = UploadPrefix(uploadId);
        string? continuation = null;
        do
        {
            var page = await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, Prefix = prefix, ContinuationToken = continuation }, cancellationToken);
            if (page.S3Objects is { Count: > 0 } objects)
            {
                await _client.DeleteObjectsAsync(new DeleteObjectsRequest { BucketName = _bucket, Objects = objects.Select(o => new KeyVersion { Key = o.Key }).ToList() }, cancellationToken);
            }

            continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (continuation is not null);
    }

    public void Dispose() => _client.Dispose();

    /// <summary>Builds the blob from the pieces inside S3: empty, one copy, or a multipart upload whose parts are copies.</summary>
    private async Task AssembleAsync(string key, List<(string Key, int Length)> pieces, CancellationToken cancellationToken)
    {
        if (pieces.Count == 0)
        {
            await PutAsync(key, [], 0, cancellationToken);
            return;
        }

        if (pieces.Count == 1)
        {
            await _client.CopyObjectAsync(new CopyObjectRequest { SourceBucket = _bucket, SourceKey = pieces[0].Key, DestinationBucket = _bucket, DestinationKey = key }, cancellationToken);
            return;
        }

        var upload = await _client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = _bucket, Key = key }, cancellationToken);
        try
        {
            var parts = await Task.WhenAll(pieces.Select(async (piece, i) =>
            {
                var copied = await _client.CopyPartAsync(new CopyPartRequest
                {
                    SourceBucket = _bucket,
                    SourceKey = piece.Key,
                    DestinationBucket = _bucket,
                    DestinationKey = key,
                    UploadId = upload.UploadId,
                    PartNumber = i + 1,
                }, cancellationToken);
                return new PartETag(i + 1, copied.ETag);
            }));
            await _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = _bucket, Key = key, UploadId = upload.UploadId, PartETags = [.. parts] }, cancellationToken);
        }
        catch
        {
            await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _bucket, Key = key, UploadId = upload.UploadId }, CancellationToken.None);
            throw;
        }
    }

    private List<(string Key, int Length)> Pieces(string uploadId, UploadProgress current)
    {
        var recorded = UploadPieces.Parse(current.State, _pieceSize);
        var count = (int)((current.Length + recorded.PieceSize - 1) / recorded.PieceSize);
        if (recorded.Nonces.Count < count)
        {
            throw new InvalidOperationException($"upload {uploadId} records {recorded.Nonces.Count} pieces for {current.Length} bytes");
        }

        return [.. Enumerable.Range(0, count).Select(i => (PieceKey(uploadId, i, recorded.Nonces[i]), recorded.LengthOf(i, current.Length)))];
    }

    private async Task ReadPieceHeadAsync(string key, Memory<byte> head, CancellationToken cancellationToken)
    {
        using var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = key, ByteRange = new ByteRange(0, head.Length - 1) }, cancellationToken);
        if (await StreamFill.ReadAsync(response.ResponseStream, head, cancellationToken) != head.Length)
        {
            throw new IOException($"upload piece s3://{_bucket}/{key} is shorter than recorded");
        }
    }

    private Task<PutObjectResponse> PutAsync(string key, byte[] buffer, int length, CancellationToken cancellationToken) =>
        _client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = _bucket,
            Key = key,
            InputStream = new MemoryStream(buffer, 0, length, writable: false),
            AutoCloseStream = false,
            UseChunkEncoding = false,
        }, cancellationToken);

    private async Task<long?> HeadAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var head = await _client.GetObjectMetadataAsync(_bucket, key, cancellationToken);
            return head.ContentLength;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }


    private string BlobKey(Digest digest) => $"{_prefix}blobs/{digest.Algorithm}/{digest.Encoded[..2]}/{digest.Encoded}";

    private string PieceKey(string uploadId, int index, string nonce) => $"{UploadPrefix(uploadId)}{index:D6}-{nonce}";

    private string UploadPrefix(string uploadId)
    {
        // Upload ids come from URLs: allow only what the registry generates.
        if (uploadId.Length is 0 or > 64 || !uploadId.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            throw new ArgumentException("invalid upload id", nameof(uploadId));
        }

        return $"{_prefix}uploads/{uploadId}/";
    }
}
