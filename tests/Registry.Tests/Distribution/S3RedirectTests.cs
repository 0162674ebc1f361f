using System.Net;
using Registry.Tests.Support;

namespace Registry.Tests.Distribution;

/// <summary>Pulls redirected to presigned S3 URLs (<c>Storage:S3:RedirectPulls</c>), on a real S3 server.</summary>
public sealed class S3RedirectTests : IAsyncLifetime
{
    private readonly string _bucket = S3TestServer.NewBucketName();
    private readonly RedirectingRegistry _plain;
    private readonly RedirectingRegistry _encrypted;

    public S3RedirectTests()
    {
        S3TestServer.SkipUnlessAvailable();
        _plain = new RedirectingRegistry(_bucket, encrypted: false);
        _encrypted = new RedirectingRegistry(_bucket + "-enc", encrypted: true);
    }

    public async Task InitializeAsync()
    {
        if (S3TestServer.Available)
        {
            await _plain.InitializeAsync();
            await _encrypted.InitializeAsync();
        }
    }

    [SkippableFact]
    public async Task A_blob_get_is_a_307_to_a_presigned_url_that_serves_the_bytes()
    {
        using var client = _plain.CreateClient();
        var content = OciTestClient.RandomBytes(300_000);
        var digest = await client.PushBlobAsync("redirect/app", content);

        var response = await client.GetAsync($"/v2/redirect/app/blobs/{digest}");

        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var location = response.Headers.Location!;
        Assert.Contains("X-Amz-Signature=", location.Query, StringComparison.Ordinal);
        using var direct = new HttpClient();
        Assert.Equal(content, await direct.GetByteArrayAsync(location));
    }

    [SkippableFact]
    public async Task With_encryption_at_rest_pulls_are_served_not_redirected()
    {
        using var client = _encrypted.CreateClient();
        var content = OciTestClient.RandomBytes(1000);
        var digest = await client.PushBlobAsync("redirect/encrypted", content);

        var response = await client.GetAsync($"/v2/redirect/encrypted/blobs/{digest}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(content, await response.Content.ReadAsByteArrayAsync());
    }

    public async Task DisposeAsync()
    {
        if (S3TestServer.Available)
        {
            await _plain.DisposeAsync();
            await _encrypted.DisposeAsync();
            await S3TestServer.DeleteBucketAsync(_bucket);
            await S3TestServer.DeleteBucketAsync(_bucket + "-enc");
        }
    }

    private sealed class RedirectingRegistry : RegistryFixture
    {
        public RedirectingRegistry(string bucket, bool encrypted)
        {
            Settings["Storage:Type"] = "s3";
            Settings["Storage:S3:ServiceUrl"] = S3TestServer.Url;
            Settings["Storage:S3:AccessKey"] = S3TestServer.AccessKey;
            Settings["Storage:S3:SecretKey"] = S3TestServer.SecretKey;
            Settings["Storage:S3:Bucket"] = bucket;
            Settings["Storage:S3:CreateBucket"] = "true";
            Settings["Storage:S3:RedirectPulls"] = "true";
            Settings["Encryption:Enabled"] = encrypted ? "true" : "false";
        }
    }
}
