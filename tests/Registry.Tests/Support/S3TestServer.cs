using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Registry.Storage.S3;

namespace Registry.Tests.Support;

/// <summary>
/// The S3 server named by <c>REGISTRY_TEST_S3_URL</c> (Ceph RGW, started by <c>scripts/test.sh</c>);
/// tests get buckets of their own on it. Without that variable, tests that need it are skipped.
/// </summary>
public static class S3TestServer
{
    public static readonly string? Url = Environment.GetEnvironmentVariable("REGISTRY_TEST_S3_URL");
    public static readonly string? AccessKey = Environment.GetEnvironmentVariable("REGISTRY_TEST_S3_ACCESS_KEY");
    public static readonly string? SecretKey = Environment.GetEnvironmentVariable("REGISTRY_TEST_S3_SECRET_KEY");

    public static bool Available => !string.IsNullOrEmpty(Url);

    public static void SkipUnlessAvailable() =>
        Skip.IfNot(Available, "REGISTRY_TEST_S3_URL is not set (scripts/test.sh starts Ceph RGW)");

    /// <summary>Store options for a fresh bucket (created by the store at start, or by <see cref="S3BlobStore.EnsureBucketAsync"/>).</summary>
    public static S3BlobStoreOptions Options(string bucket) => new()
    {
        ServiceUrl = Url,
        AccessKey = AccessKey,
        SecretKey = SecretKey,
        Bucket = bucket,
        CreateBucket = true,
    };

    private static AmazonS3Client Client() =>
        new(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonS3Config { ServiceURL = Url, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });

    /// <summary>Points a registry process at <paramref name="bucket"/> on the test server (created at its start).</summary>
    public static void Configure(ServerProcess server, string bucket)
    {
        server.Environment["REGISTRY_Storage__Type"] = "s3";
        server.Environment["REGISTRY_Storage__S3__ServiceUrl"] = Url!;
        server.Environment["REGISTRY_Storage__S3__AccessKey"] = AccessKey!;
        server.Environment["REGISTRY_Storage__S3__SecretKey"] = SecretKey!;
        server.Environment["REGISTRY_Storage__S3__Bucket"] = bucket;
        server.Environment["REGISTRY_Storage__S3__CreateBucket"] = "true";
    }

    public static string NewBucketName() => "registry-test-" + Guid.NewGuid().ToString("N")[..20];

    public static async Task<int> CountObjectsAsync(string bucket, string prefix)
    {
        using var client = Client();
        var page = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = prefix });
        return page.S3Objects?.Count ?? 0;
    }

    /// <summary>Empties and removes a test bucket (best effort).</summary>
    public static async Task DeleteBucketAsync(string bucket)
    {
        using var client = Client();
        try
        {
            string? continuation = null;
            do
            {
                var page = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, ContinuationToken = continuation });
                foreach (var item in page.S3Objects ?? [])
                {
                    await client.DeleteObjectAsync(bucket, item.Key);
                }

                continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
            }
            while (continuation is not null);
            await client.DeleteBucketAsync(bucket);
        }
        catch (AmazonS3Exception)
        {
            // Leftovers on a throwaway test server are harmless.
        }
    }
}
