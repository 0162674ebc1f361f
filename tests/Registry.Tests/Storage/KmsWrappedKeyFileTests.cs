using System.Security.Cryptography;
using System.Text;
using Registry.Core.Content;
using Registry.Storage;
using Registry.Storage.Encryption;
using Registry.Storage.FileSystem;
using Registry.Storage.Kms;

namespace Registry.Tests.Storage;

/// <summary>
/// Master keys kept as KMS ciphertexts. No KMS server is installable on the test machine, so these
/// run against <see cref="LocalKms"/>, a stand-in at the <see cref="IKmsClient"/> seam that encrypts
/// with its own key and checks the encryption context as KMS does.
/// </summary>
public sealed class KmsWrappedKeyFileTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "registry-kms-tests", Guid.NewGuid().ToString("N"));

    private string KeyFile => Path.Combine(_root, "master-keys");

    [Fact]
    public async Task A_missing_file_is_created_with_one_key_that_only_kms_can_unwrap()
    {
        var kms = new LocalKms();

        var keys = await KmsWrappedKeyFile.LoadAsync(KeyFile, kms, "alias/registry", CancellationToken.None);

        var line = Assert.Single(await File.ReadAllLinesAsync(KeyFile));
        Assert.StartsWith(keys.CurrentKeyId + " kms:", line, StringComparison.Ordinal);
        Assert.Equal(kms.LastPlaintext, keys.Key(keys.CurrentKeyId).ToArray());
        Assert.DoesNotContain(Convert.ToBase64String(kms.LastPlaintext!), line, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyFile));
        }

        var reloaded = await KmsWrappedKeyFile.LoadAsync(KeyFile, kms, "alias/registry", CancellationToken.None);
        Assert.Equal(keys.Key(keys.CurrentKeyId).ToArray(), reloaded.Key(reloaded.CurrentKeyId).ToArray());
    }

    [Fact]
    public async Task A_rotated_key_seals_new_blobs_while_blobs_under_the_old_key_stay_readable()
    {
        var kms = new LocalKms();
        var first = await KmsWrappedKeyFile.LoadAsync(KeyFile, kms, "alias/registry", CancellationToken.None);
        var store = new FileSystemBlobStore(new FileSystemBlobStoreOptions { RootPath = Path.Combine(_root, "blobs") });
        var old = await PutAsync(new EncryptingBlobStore(store, first), "sealed under the first key");

        var (_, ciphertext) = await kms.GenerateDataKeyAsync("alias/registry", KmsWrappedKeyFile.Context("key-2"), CancellationToken.None);
        await File.AppendAllTextAsync(KeyFile, $"key-2 kms:{Convert.ToBase64String(ciphertext)}\n");
        var rotated = await KmsWrappedKeyFile.LoadAsync(KeyFile, kms, "alias/registry", CancellationToken.None);
        var encrypted = new EncryptingBlobStore(store, rotated);
        var fresh = await PutAsync(encrypted, "sealed under the second key");

        Assert.Equal("key-2", rotated.CurrentKeyId);
        Assert.Equal("sealed under the first key", await ReadAsync(encrypted, old));
        Assert.Equal("sealed under the second key", await ReadAsync(encrypted, fresh));
    }

    [Fact]
    public async Task Swapped_lines_do_not_unwrap_because_each_ciphertext_is_bound_to_its_id()
    {
        var kms = new LocalKms();
        var (_, ciphertext) = await kms.GenerateDataKeyAsync("alias/registry", KmsWrappedKeyFile.Context("key-a"), CancellationToken.None);
        Directory.CreateDirectory(_root);
        await File.WriteAllTextAsync(KeyFile, $"key-b kms:{Convert.ToBase64String(ciphertext)}\n");

        await Assert.ThrowsAnyAsync<CryptographicException>(() => KmsWrappedKeyFile.LoadAsync(KeyFile, kms, "alias/registry", CancellationToken.None));
    }

    [Theory]
    [InlineData("key-1 AAAA")]
    [InlineData("key-1 kms:not-base64!")]
    [InlineData("has space kms:AAAA")]
    public async Task A_malformed_line_is_refused_naming_the_line(string line)
    {
        Directory.CreateDirectory(_root);
        await File.WriteAllTextAsync(KeyFile, "# master keys\n" + line + "\n");

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => KmsWrappedKeyFile.LoadAsync(KeyFile, new LocalKms(), "alias/registry", CancellationToken.None));

        Assert.Contains(":2:", error.Message, StringComparison.Ordinal);
    }

    private static async Task<Digest> PutAsync(EncryptingBlobStore store, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var digest = Digest.Compute(bytes);
        var upload = Guid.NewGuid().ToString("D");
        await store.StartUploadAsync(upload, CancellationToken.None);
        var written = await store.WriteUploadAsync(upload, UploadProgress.Empty, new MemoryStream(bytes), CancellationToken.None);
        await store.CommitUploadAsync(upload, written, digest, CancellationToken.None);
        return digest;
    }

    private static async Task<string> ReadAsync(EncryptingBlobStore store, Digest digest)
    {
        await using var stream = (await store.OpenReadAsync(digest, CancellationToken.None))!;
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    /// <summary>Stands in for KMS: data keys sealed with AES-GCM under its own key, the encryption context as associated data.</summary>
    private sealed class LocalKms : IKmsClient
    {
        private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

        public string Description => "a local stand-in for KMS";

        public byte[]? LastPlaintext { get; private set; }

        public Task<(byte[] Plaintext, byte[] Ciphertext)> GenerateDataKeyAsync(string kmsKeyId, IReadOnlyDictionary<string, string> context, CancellationToken cancellationToken)
        {
            var plaintext = RandomNumberGenerator.GetBytes(32);
            var sealedKey = new byte[12 + 32 + 16];
            RandomNumberGenerator.Fill(sealedKey.AsSpan(0, 12));
            using var aes = new AesGcm(_key, 16);
            aes.Encrypt(sealedKey.AsSpan(0, 12), plaintext, sealedKey.AsSpan(12, 32), sealedKey.AsSpan(44), Aad(context));
            LastPlaintext = plaintext;
            return Task.FromResult((plaintext, sealedKey));
        }

        public Task<byte[]> DecryptAsync(byte[] ciphertext, IReadOnlyDictionary<string, string> context, CancellationToken cancellationToken)
        {
            var plaintext = new byte[32];
            using var aes = new AesGcm(_key, 16);
            aes.Decrypt(ciphertext.AsSpan(0, 12), ciphertext.AsSpan(12, 32), ciphertext.AsSpan(44, 16), plaintext, Aad(context));
            return Task.FromResult(plaintext);
        }

        private static byte[] Aad(IReadOnlyDictionary<string, string> context) =>
            Encoding.UTF8.GetBytes(string.Join(';', context.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}")));
    }
}
