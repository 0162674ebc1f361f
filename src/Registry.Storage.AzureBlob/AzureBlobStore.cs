using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Registry.Core.Content;

namespace Registry.Storage.AzureBlob;

/// <summary>
/// Blobs as block blobs named by digest (<c>blobs/sha256/ab/abcd…</c>); an upload is the block blob
/// <c>uploads/&lt;id&gt;</c>, each chunk staged as blocks named by a per-write nonce and committed
/// with the blocks before it, so the upload is readable (for a re-hash on any replica). The upload's
/// progress records its block list; a commit re-commits exactly that list, then has the service
/// copy the upload blob to the digest's name.
/// </summary>
public sealed class AzureBlobStore : IBlobStore
{
    private const int SmallChunk = 256 * 1024;

    private readonly BlobContainerClient _container;
    private readonly string _prefix;
    private readonly int _blockSize;

    public AzureBlobStore(AzureBlobStoreOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ConnectionString);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Container);
        if (options.BlockSize <= 0)
        {
            throw new ArgumentException("Storage:Azure:BlockSize must be positive", nameof(options));
        }

        _container = new BlobContainerClient(options.ConnectionString, options.Container);
        _prefix = options.Prefix;
        _blockSize = options.BlockSize;
        Description = $"Azure Blob container '{options.Container}' at {_container.Uri.GetLeftPart(UriPartial.Authority)}";
    }

    /// <summary>Where this store points, for messages (never with credentials).</summary>
    public string Description { get; }

    /// <summary>Failures that mean the service is unreachable or failing (network, 5xx, retries exhausted), not that a request was wrong.</summary>
    public static bool IsUnavailable(Exception e) => e switch
    {
        RequestFailedException failed => failed.Status == 0 || failed.Status >= 500,
        AggregateException aggregate => aggregate.InnerExceptions.All(IsUnavailable),
        HttpRequestException or System.Net.Sockets.SocketException => true,
        IOException { InnerException: System.Net.Sockets.SocketException } => true,
        _ => false,
    };

    /// <summary>Checks the container is reachable (creating it if asked to), so a misconfiguration fails at start.</summary>
    public async Task EnsureContainerAsync(bool create, CancellationToken cancellationToken)
    {
        if (await _container.ExistsAsync(cancellationToken))
        {
            return;
        }

        if (!create)
        {
            throw new InvalidOperationException($"container '{_container.Name}' does not exist (set Storage:Azure:CreateContainer to create it)");
        }

        await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
    }

    public async Task<long?> GetLengthAsync(Digest digest, CancellationToken cancellationToken) =>
        await LengthAsync(_container.GetBlobClient(BlobName(digest)), cancellationToken);

    public async Task<Stream?> OpenReadAsync(Digest digest, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(BlobName(digest));
        if (await LengthAsync(blob, cancellationToken) is null)
        {
            return null;
        }

        return await blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { BufferSize = 1024 * 1024 }, cancellationToken);
    }

    public Task<Uri?> GetDownloadUrlAsync(Digest digest, CancellationToken cancellationToken) => Task.FromResult<Uri?>(null);

    public async Task<bool> DeleteAsync(Digest digest, CancellationToken cancellationToken) =>
        await _container.GetBlobClient(BlobName(digest)).DeleteIfExistsAsync(cancellationToken: cancellationToken);

    public Task StartUploadAsync(string uploadId, CancellationToken cancellationToken)
    {
        UploadName(uploadId);
        return Task.CompletedTask;
    }

    public async Task<UploadProgress> WriteUploadAsync(string uploadId, UploadProgress current, Stream source, CancellationToken cancellationToken)
    {
        var upload = _container.GetBlockBlobClient(UploadName(uploadId));
        var blocks = ParseBlocks(current.State);
        var nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        // The first block is small, so a chunk of a small layer never holds a block-sized buffer; blocks may differ in size.
        var buffer = ArrayPool<byte>.Shared.Rent(SmallChunk);
        var size = SmallChunk;
        byte[]? spare = null;
        Task staging = Task.CompletedTask;
        try
        {
            var received = 0L;
            while (true)
            {
                var filled = await StreamFill.ReadAsync(source, buffer.AsMemory(0, size), cancellationToken);
                if (filled == 0)
                {
                    break;
                }

                received += filled;
                await staging;
                var id = BlockId(nonce, blocks.Count);
                blocks.Add(id);
                staging = upload.StageBlockAsync(id, new MemoryStream(buffer, 0, filled, writable: false), cancellationToken: cancellationToken);
                if (filled < size)
                {
                    break;
                }

                size = _blockSize;
                if (spare is null || spare.Length < size)
                {
                    if (spare is not null)
                    {
                        ArrayPool<byte>.Shared.Return(spare);
                    }

                    spare = ArrayPool<byte>.Shared.Rent(size);
                }

                (buffer, spare) = (spare, buffer);
            }

            await staging;
            if (received == 0)
            {
                return current;
            }

            await upload.CommitBlockListAsync(blocks, cancellationToken: cancellationToken);
            return new UploadProgress(current.Length + received, string.Join(' ', blocks));
        }
        catch
        {
            await staging.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (spare is not null)
            {
                ArrayPool<byte>.Shared.Return(spare);
            }
        }
    }

    public async Task<Stream> OpenUploadReadAsync(string uploadId, UploadProgress current, CancellationToken cancellationToken)
    {
        if (current.Length == 0)
        {
            return Stream.Null;
        }

        var upload = await CommitRecordedAsync(uploadId, current, cancellationToken);
        return await upload.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { BufferSize = 1024 * 1024 }, cancellationToken);
    }

    public async Task CommitUploadAsync(string uploadId, UploadProgress current, Digest digest, CancellationToken cancellationToken)
    {
        var target = _container.GetBlobClient(BlobName(digest));
        if (await LengthAsync(target, cancellationToken) is null)
        {
            if (current.Length == 0)
            {
                await target.UploadAsync(BinaryData.Empty, overwrite: true, cancellationToken);
            }
            else
            {
                var upload = await CommitRecordedAsync(uploadId, current, cancellationToken);
                var copy = await target.StartCopyFromUriAsync(upload.Uri, cancellationToken: cancellationToken);
                await copy.WaitForCompletionAsync(cancellationToken);
            }
        }

        await DeleteUploadAsync(uploadId, cancellationToken);
    }

    public async Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken) =>
        await _container.GetBlobClient(UploadName(uploadId)).DeleteIfExistsAsync(cancellationToken: cancellationToken);

    /// <summary>Commits exactly the recorded blocks, undoing whatever a failed or concurrent write committed since.</summary>
    private async Task<BlockBlobClient> CommitRecordedAsync(string uploadId, UploadProgress current, CancellationToken cancellationToken)
    {
        var upload = _container.GetBlockBlobClient(UploadName(uploadId));
        await upload.CommitBlockListAsync(ParseBlocks(current.State), cancellationToken: cancellationToken);
        return upload;
    }

    /// <summary>The blob's length; null when absent or still being copied in (a copy is visible only once complete).</summary>
    private static async Task<long?> LengthAsync(BlobClient blob, CancellationToken cancellationToken)
    {
        try
        {
            var properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
            return properties.CopyId is null || properties.CopyStatus == CopyStatus.Success ? properties.ContentLength : null;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    private static List<string> ParseBlocks(string? state) =>
        string.IsNullOrEmpty(state) ? [] : [.. state.Split(' ', StringSplitOptions.RemoveEmptyEntries)];

    // Block ids within a blob must all have the same length: nonce (12 hex) + index (8 digits), base64.
    private static string BlockId(string nonce, int index) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{nonce}{index:D8}")));


    private string BlobName(Digest digest) => $"{_prefix}blobs/{digest.Algorithm}/{digest.Encoded[..2]}/{digest.Encoded}";

    private string UploadName(string uploadId)
    {
        // Upload ids come from URLs: allow only what the registry generates.
        if (uploadId.Length is 0 or > 64 || !uploadId.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            throw new ArgumentException("invalid upload id", nameof(uploadId));
        }

        return $"{_prefix}uploads/{uploadId}";
    }
}
