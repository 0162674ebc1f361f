using System.Text;
using Registry.Core.Content;
using Registry.Storage;
using Registry.Storage.Encryption;
using Registry.Storage.FileSystem;
using Registry.Storage.S3;
using Registry.Tests.Support;

namespace Registry.Tests.Storage;

/// <summary>The blob store contract through encryption at rest, over the filesystem; and what encryption itself promises.</summary>
public sealed class EncryptedBlobStoreTests : BlobStoreContractTests, IDisposable
{
    private static readonly byte[] Secret = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("top secret layer content; ", 20_000)));

    private readonly string _root = Path.Combine(Path.GetTempPath(), "encrypted-store-tests", Guid.NewGuid().ToString("N"));
    private readonly IBlobStore _store;

    public EncryptedBlobStoreTests() => _store = Encrypted(KeyFile("master-keys"));

    protected override IBlobStore Store => _store;

    [Fact]
    public async Task Bytes_at_rest_are_not_the_plaintext_in_uploads_or_blobs()
    {
        var id = Guid.NewGuid().ToString();
        await Store.StartUploadAsync(id, default);
        var progress = await Store.WriteUploadAsync(id, UploadProgress.Empty, new MemoryStream(Secret), default);
        AssertNoPlaintextUnder("uploads");

        await Store.CommitUploadAsync(id, progress, Digest.Compute(Secret), default);

        AssertNoPlaintextUnder("blobs");
        Assert.Equal(Secret, await ReadAllAsync((await Store.OpenReadAsync(Digest.Compute(Secret), default))!));
    }

    [Fact]
    public async Task A_tampered_chunk_is_an_error_never_wrong_bytes()
    {
        var digest = await StoreAsync(Secret);
        var file = BlobFile(digest);
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[(3 * 65536) + 100] ^= 0x01;
        await File.WriteAllBytesAsync(file, bytes);

        await using var blob = (await Store.OpenReadAsync(digest, default))!;
        var intact = new byte[1000];
        await blob.ReadExactlyAsync(intact);
        Assert.Equal(Secret.AsSpan(0, 1000).ToArray(), intact);
        blob.Position = 3 * 65536;
        await Assert.ThrowsAsync<BlobUnreadableException>(async () => await blob.ReadExactlyAsync(new byte[10]));
    }

    [Fact]
    public async Task A_truncated_blob_is_refused()
    {
        var digest = await StoreAsync(Secret);
        var file = BlobFile(digest);
        var bytes = await File.ReadAllBytesAsync(file);
        await File.WriteAllBytesAsync(file, [.. bytes.AsSpan(0, 65536 + 16), .. bytes.AsSpan(bytes.Length - 128)]);

        await Assert.ThrowsAsync<BlobUnreadableException>(() => Store.OpenReadAsync(digest, default));
    }

    [Fact]
    public async Task A_wrong_master_key_refuses_to_serve()
    {
        var digest = await StoreAsync(Secret);
        var impostor = KeyFile("impostor-keys");
        await File.WriteAllTextAsync(impostor, $"{CurrentKeyId("master-keys")} {Convert.ToBase64String(new byte[32])}\n");

        await Assert.ThrowsAsync<BlobUnreadableException>(() => Encrypted(impostor).OpenReadAsync(digest, default));
    }

    [Fact]
    public async Task After_rotation_new_blobs_use_the_new_key_and_old_ones_stay_readable()
    {
        var old = await StoreAsync(Secret);
        await File.AppendAllTextAsync(KeyFile("master-keys"), $"rotated-2 {Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))}\n");
        var rotated = Encrypted(KeyFile("master-keys"));

        var content = RandomBytes(70_000);
        var id = Guid.NewGuid().ToString();
        await rotated.StartUploadAsync(id, default);
        var progress = await rotated.WriteUploadAsync(id, UploadProgress.Empty, new MemoryStream(content), default);
        await rotated.CommitUploadAsync(id, progress, Digest.Compute(content), default);

        var footer = (await File.ReadAllBytesAsync(BlobFile(Digest.Compute(content))))[^128..];
        Assert.Equal("rotated-2", Encoding.ASCII.GetString(footer, 17, footer[16]));
        Assert.Equal(Secret, await ReadAllAsync((await rotated.OpenReadAsync(old, default))!));
        Assert.Equal(content, await ReadAllAsync((await rotated.OpenReadAsync(Digest.Compute(content), default))!));
    }

    [Fact]
    public async Task A_blob_stored_in_the_clear_is_refused()
    {
        var plain = new FileSystemBlobStore(new FileSystemBlobStoreOptions { RootPath = Path.Combine(_root, "store") });
        var id = Guid.NewGuid().ToString();
        await plain.StartUploadAsync(id, default);
        var progress = await plain.WriteUploadAsync(id, UploadProgress.Empty, new MemoryStream(Secret), default);
        await plain.CommitUploadAsync(id, progress, Digest.Compute(Secret), default);

        await Assert.ThrowsAsync<BlobUnreadableException>(() => Store.OpenReadAsync(Digest.Compute(Secret), default));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private EncryptingBlobStore Encrypted(string keyFile) =>
        new EncryptingBlobStore(new FileSystemBlobStore(new FileSystemBlobStoreOptions { RootPath = Path.Combine(_root, "store") }), new LocalKeyFile(keyFile));

    private string KeyFile(string name) => Path.Combine(_root, name);

    private string CurrentKeyId(string name) => File.ReadAllLines(KeyFile(name)).Last(l => l.Length > 0).Split(' ')[0];

    private string BlobFile(Digest digest) => Path.Combine(_root, "store", "blobs", digest.Algorithm, digest.Encoded[..2], digest.Encoded);

    private void AssertNoPlaintextUnder(string folder)
    {
        var files = Directory.GetFiles(Path.Combine(_root, "store", folder), "*", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        var needle = Secret.AsSpan(0, 26).ToArray();
        foreach (var file in files)
        {
            Assert.Equal(-1, File.ReadAllBytes(file).AsSpan().IndexOf(needle));
        }
    }
}

/// <summary>The blob store contract through encryption at rest over S3 (Ceph RGW): encryption works on any backend.</summary>
public sealed class EncryptedS3BlobStoreTests : BlobStoreContractTests, IAsyncLifetime
{
    private readonly string _bucket = S3TestServer.NewBucketName();
    private readonly string _keys = Path.Combine(Path.GetTempPath(), "encrypted-s3-keys-" + Guid.NewGuid().ToString("N"));
    private IBlobStore? _store;

    public EncryptedS3BlobStoreTests() => S3TestServer.SkipUnlessAvailable();

    protected override IBlobStore Store => _store!;

    public async Task InitializeAsync()
    {
        if (!S3TestServer.Available)
        {
            return;
        }

        var s3 = new S3BlobStore(S3TestServer.Options(_bucket));
        await s3.EnsureBucketAsync(create: true, default);
        _store = new EncryptingBlobStore(s3, new LocalKeyFile(_keys));
    }

    public async Task DisposeAsync()
    {
        File.Delete(_keys);
        if (S3TestServer.Available)
        {
            await S3TestServer.DeleteBucketAsync(_bucket);
        }
    }
}
