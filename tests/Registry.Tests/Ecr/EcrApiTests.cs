using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Registry.Tests.Support;

namespace Registry.Tests.Ecr;

/// <summary>The ECR JSON API in process, signed with SigV4 by the admin's access key. Run against each metadata database: see the subclasses at the end.</summary>
public abstract class EcrApiTests(RegistryFixture registry) : IAsyncLifetime
{
    private readonly HttpClient _admin = registry.CreateClient();
    private AwsJsonTestClient _ecr = null!;

    public async Task InitializeAsync()
    {
        var created = await _admin.PostAsync("/admin/v1/users/admin/access-keys", null);
        using var key = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        _ecr = new AwsJsonTestClient(registry.CreateAnonymousClient(), key.RootElement.GetProperty("accessKeyId").GetString()!, key.RootElement.GetProperty("secretAccessKey").GetString()!);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [SkippableFact]
    public async Task Create_describe_and_delete_a_repository_in_ecr_shapes()
    {
        var name = OciTestClient.UniqueRepository("ecr");

        var (status, created) = await _ecr.CallAsync("CreateRepository", new { repositoryName = name, imageTagMutability = "IMMUTABLE", tags = new[] { new { Key = "team", Value = "web" } } });

        Assert.Equal(200, status);
        var repository = created.GetProperty("repository");
        Assert.Equal($"arn:aws:ecr:us-east-1:000000000000:repository/{name}", repository.GetProperty("repositoryArn").GetString());
        Assert.Equal("IMMUTABLE", repository.GetProperty("imageTagMutability").GetString());
        Assert.Equal("AES256", repository.GetProperty("encryptionConfiguration").GetProperty("encryptionType").GetString());
        Assert.Equal(JsonValueKind.Number, repository.GetProperty("createdAt").ValueKind);
        var (_, described) = await _ecr.CallAsync("DescribeRepositories", new { repositoryNames = new[] { name } });
        Assert.Equal(name, described.GetProperty("repositories")[0].GetProperty("repositoryName").GetString());
        var (_, tags) = await _ecr.CallAsync("ListTagsForResource", new { resourceArn = repository.GetProperty("repositoryArn").GetString() });
        Assert.Equal("web", tags.GetProperty("tags")[0].GetProperty("Value").GetString());

        Assert.Equal("RepositoryAlreadyExistsException", await ErrorAsync("CreateRepository", new { repositoryName = name }));
        var audited = new List<string?>();
        for (var attempt = 0; attempt < 50 && audited.Count < 2; attempt++)
        {
            await Task.Delay(100);
            using var events = JsonDocument.Parse(await _admin.GetStringAsync("/admin/v1/audit-events?action=ecr:CreateRepository&principal=admin"));
            audited = events.RootElement.GetProperty("events").EnumerateArray()
                .Where(e => e.GetProperty("resource").GetString()!.EndsWith(name, StringComparison.Ordinal))
                .Select(e => e.GetProperty("outcome").GetString()).ToList();
        }

        Assert.Equal(["Failed", "Allowed"], audited);
        Assert.Equal(200, (await _ecr.CallAsync("DeleteRepository", new { repositoryName = name })).Status);
        Assert.Equal("RepositoryNotFoundException", await ErrorAsync("DescribeRepositories", new { repositoryNames = new[] { name } }));
    }

    [SkippableFact]
    public async Task Images_pushed_through_v2_are_listed_described_fetched_and_deleted_through_ecr()
    {
        var name = OciTestClient.UniqueRepository("ecr");
        var (manifest, digest) = await _admin.PushImageAsync(name, "v1");
        Assert.Equal(HttpStatusCode.Created, (await _admin.PutManifestAsync(name, "v2", manifest)).StatusCode);

        var (_, listed) = await _ecr.CallAsync("ListImages", new { repositoryName = name, filter = new { tagStatus = "TAGGED" } });
        var (_, details) = await _ecr.CallAsync("DescribeImages", new { repositoryName = name });
        var (_, fetched) = await _ecr.CallAsync("BatchGetImage", new { repositoryName = name, imageIds = new object[] { new { imageTag = "v1" }, new { imageTag = "nope" } } });

        Assert.Equal(["v1", "v2"], listed.GetProperty("imageIds").EnumerateArray().Select(i => i.GetProperty("imageTag").GetString()).Order());
        var detail = details.GetProperty("imageDetails")[0];
        Assert.Equal(digest, detail.GetProperty("imageDigest").GetString());
        Assert.Equal(["v1", "v2"], detail.GetProperty("imageTags").EnumerateArray().Select(t => t.GetString()).Order());
        Assert.True(detail.GetProperty("imageSizeInBytes").GetInt64() > 1024);
        Assert.Equal(Encoding.UTF8.GetString(manifest), fetched.GetProperty("images")[0].GetProperty("imageManifest").GetString());
        Assert.Equal("ImageNotFound", fetched.GetProperty("failures")[0].GetProperty("failureCode").GetString());

        var (_, deleted) = await _ecr.CallAsync("BatchDeleteImage", new { repositoryName = name, imageIds = new[] { new { imageDigest = digest } } });
        Assert.Equal(digest, deleted.GetProperty("imageIds")[0].GetProperty("imageDigest").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await _admin.GetAsync($"/v2/{name}/manifests/v1")).StatusCode);
        Assert.Equal("RepositoryNotEmptyException", await ErrorAsync("DeleteRepository", new { repositoryName = (await PushedAsync()).Repository }));
    }

    [SkippableFact]
    public async Task Layers_uploaded_in_parts_and_put_image_make_a_pullable_image()
    {
        var name = OciTestClient.UniqueRepository("ecr");
        await _ecr.CallAsync("CreateRepository", new { repositoryName = name });
        var layer = OciTestClient.RandomBytes(3000);
        var config = "{\"architecture\":\"amd64\",\"os\":\"linux\"}"u8.ToArray();
        foreach (var blob in new[] { layer, config })
        {
            var (_, upload) = await _ecr.CallAsync("InitiateLayerUpload", new { repositoryName = name });
            var id = upload.GetProperty("uploadId").GetString();
            var half = blob.Length / 2;
            Assert.Equal(200, (await _ecr.CallAsync("UploadLayerPart", new { repositoryName = name, uploadId = id, partFirstByte = 0, partLastByte = half - 1, layerPartBlob = Convert.ToBase64String(blob[..half]) })).Status);
            Assert.Equal("InvalidLayerPartException", (await _ecr.CallAsync("UploadLayerPart", new { repositoryName = name, uploadId = id, partFirstByte = 0, partLastByte = 0, layerPartBlob = "AA==" })).Body.GetProperty("__type").GetString());
            Assert.Equal(200, (await _ecr.CallAsync("UploadLayerPart", new { repositoryName = name, uploadId = id, partFirstByte = half, partLastByte = blob.Length - 1, layerPartBlob = Convert.ToBase64String(blob[half..]) })).Status);
            var (status, completed) = await _ecr.CallAsync("CompleteLayerUpload", new { repositoryName = name, uploadId = id, layerDigests = new[] { OciTestClient.DigestOf(blob) } });
            Assert.True(status == 200, completed.ToString());
        }

        var (_, availability) = await _ecr.CallAsync("BatchCheckLayerAvailability", new { repositoryName = name, layerDigests = new[] { OciTestClient.DigestOf(layer), OciTestClient.DigestOf([1, 2, 3]) } });
        Assert.Equal(["AVAILABLE", "UNAVAILABLE"], availability.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("layerAvailability").GetString()));

        var manifest = Encoding.UTF8.GetString(OciTestClient.ImageManifest(OciTestClient.DigestOf(config), config.Length, [(OciTestClient.DigestOf(layer), layer.Length)]));
        var (putStatus, put) = await _ecr.CallAsync("PutImage", new { repositoryName = name, imageManifest = manifest, imageTag = "v1" });
        Assert.True(putStatus == 200, put.ToString());
        Assert.Equal("ImageAlreadyExistsException", await ErrorAsync("PutImage", new { repositoryName = name, imageManifest = manifest, imageTag = "v1" }));
        var missing = Encoding.UTF8.GetString(OciTestClient.ImageManifest(OciTestClient.DigestOf(config), config.Length, [(OciTestClient.DigestOf([9, 9]), 2)]));
        Assert.Equal("LayersNotFoundException", await ErrorAsync("PutImage", new { repositoryName = name, imageManifest = missing, imageTag = "v2" }));
        await _admin.PullVerifiedAsync(name, put.GetProperty("image").GetProperty("imageId").GetProperty("imageDigest").GetString()!);
    }

    [SkippableFact]
    public async Task An_authorization_token_logs_in_to_v2_as_the_user_who_asked_for_it()
    {
        var (_, token) = await _ecr.CallAsync("GetAuthorizationToken", new { });
        var data = token.GetProperty("authorizationData")[0];
        var basic = Encoding.UTF8.GetString(Convert.FromBase64String(data.GetProperty("authorizationToken").GetString()!));
        Assert.StartsWith("AWS:", basic, StringComparison.Ordinal);
        Assert.True(data.GetProperty("expiresAt").GetDouble() > DateTimeOffset.UtcNow.AddHours(11).ToUnixTimeSeconds());

        var client = registry.CreateAnonymousClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", data.GetProperty("authorizationToken").GetString());
        var name = OciTestClient.UniqueRepository("ecr-login");
        await client.PushImageAsync(name, "v1");

        var forged = registry.CreateAnonymousClient();
        forged.DefaultRequestHeaders.Authorization = RegistryFixture.Basic("AWS", basic[4..] + "x");
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.GetAsync($"/v2/{name}/tags/list")).StatusCode);
    }

    [SkippableFact]
    public async Task An_immutable_repository_refuses_to_move_a_tag_on_v2_too()
    {
        var name = OciTestClient.UniqueRepository("ecr");
        await _admin.PushImageAsync(name, "v1");
        Assert.Equal(200, (await _ecr.CallAsync("PutImageTagMutability", new { repositoryName = name, imageTagMutability = "IMMUTABLE" })).Status);

        var (other, _) = await _admin.PushImageAsync(name, "other");
        var moved = await _admin.PutManifestAsync(name, "v1", other);

        Assert.Equal(HttpStatusCode.BadRequest, moved.StatusCode);
        Assert.Equal("TAG_INVALID", await moved.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Repository_policies_through_ecr_are_validated_and_applied()
    {
        var name = OciTestClient.UniqueRepository("ecr");
        await _ecr.CallAsync("CreateRepository", new { repositoryName = name });
        var bad = await _ecr.CallAsync("SetRepositoryPolicy", new { repositoryName = name, policyText = """{"Statement":[{"Effect":"Allow","Action":"ecr:*"}]}""" });
        Assert.Equal("InvalidParameterException", bad.Body.GetProperty("__type").GetString());
        Assert.Contains("Statement[0].Principal", bad.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("RepositoryPolicyNotFoundException", await ErrorAsync("GetRepositoryPolicy", new { repositoryName = name }));

        var deny = """{"Version":"2012-10-17","Statement":[{"Sid":"NoDelete","Effect":"Deny","Principal":"*","Action":"ecr:DeleteRepository"}]}""";
        Assert.Equal(200, (await _ecr.CallAsync("SetRepositoryPolicy", new { repositoryName = name, policyText = deny })).Status);

        Assert.Equal(deny, (await _ecr.CallAsync("GetRepositoryPolicy", new { repositoryName = name })).Body.GetProperty("policyText").GetString());
        Assert.Equal("AccessDeniedException", await ErrorAsync("DeleteRepository", new { repositoryName = name }));
    }

    [SkippableFact]
    public async Task A_lifecycle_preview_lists_exactly_what_a_run_expires()
    {
        var name = OciTestClient.UniqueRepository("ecr-lifecycle");
        var pushed = new List<string>();
        foreach (var tag in new[] { "build-1", "build-2", "build-3", "release-1" })
        {
            pushed.Add((await _admin.PushImageAsync(name, tag)).Digest);
            await Task.Delay(20);
        }

        var policy = """{"rules":[{"rulePriority":1,"description":"keep two builds","selection":{"tagStatus":"tagged","tagPrefixList":["build"],"countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}}]}""";
        Assert.Equal("LifecyclePolicyNotFoundException", await ErrorAsync("GetLifecyclePolicy", new { repositoryName = name }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("PutLifecyclePolicy", new { repositoryName = name, lifecyclePolicyText = """{"rules":[{"rulePriority":1}]}""" }));
        Assert.Equal(200, (await _ecr.CallAsync("PutLifecyclePolicy", new { repositoryName = name, lifecyclePolicyText = policy })).Status);
        Assert.Equal("IN_PROGRESS", (await _ecr.CallAsync("StartLifecyclePolicyPreview", new { repositoryName = name })).Body.GetProperty("status").GetString());

        var (_, preview) = await _ecr.CallAsync("GetLifecyclePolicyPreview", new { repositoryName = name });
        var run = await _admin.PostAsJsonAsync("/admin/v1/lifecycle-runs", new { repositoryName = name });

        Assert.Equal("COMPLETE", preview.GetProperty("status").GetString());
        var previewed = preview.GetProperty("previewResults").EnumerateArray().Select(r => r.GetProperty("imageDigest").GetString()).ToList();
        Assert.Equal([pushed[0]], previewed);
        Assert.Equal(1, preview.GetProperty("summary").GetProperty("expiringImageTotalCount").GetInt32());
        using var ran = JsonDocument.Parse(await run.Content.ReadAsStringAsync());
        Assert.Equal(previewed, ran.RootElement.GetProperty("expired").EnumerateArray().Select(e => e.GetProperty("imageDigest").GetString()).ToList());
        Assert.Equal(HttpStatusCode.NotFound, (await _admin.GetAsync($"/v2/{name}/manifests/build-1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _admin.GetAsync($"/v2/{name}/manifests/release-1")).StatusCode);
        Assert.Equal(JsonValueKind.Number, (await _ecr.CallAsync("GetLifecyclePolicy", new { repositoryName = name })).Body.GetProperty("lastEvaluatedAt").ValueKind);
    }

    [SkippableFact]
    public async Task Listings_page_with_next_token_and_max_results()
    {
        var name = OciTestClient.UniqueRepository("ecr-page");
        var (manifest, _) = await _admin.PushImageAsync(name, "t0");
        for (var i = 1; i < 5; i++)
        {
            await _admin.PutManifestAsync(name, $"t{i}", manifest);
        }

        var tags = new List<string?>();
        string? token = null;
        var pages = 0;
        do
        {
            var (_, page) = await _ecr.CallAsync("ListImages", token is null ? new { repositoryName = name, maxResults = 2 } : (object)new { repositoryName = name, maxResults = 2, nextToken = token });
            tags.AddRange(page.GetProperty("imageIds").EnumerateArray().Select(i => i.GetProperty("imageTag").GetString()));
            token = page.TryGetProperty("nextToken", out var next) ? next.GetString() : null;
            pages++;
        }
        while (token is not null && pages < 10);

        Assert.Equal(3, pages);
        Assert.Equal(["t0", "t1", "t2", "t3", "t4"], tags.Order());
        await _ecr.CallAsync("CreateRepository", new { repositoryName = OciTestClient.UniqueRepository("ecr-page") });
        var (_, first) = await _ecr.CallAsync("DescribeRepositories", new { maxResults = 1 });
        Assert.Single(first.GetProperty("repositories").EnumerateArray());
        Assert.True(first.TryGetProperty("nextToken", out _));
    }

    [SkippableFact]
    public async Task Bad_requests_get_the_ecr_error_type_never_a_500()
    {
        Assert.Equal("InvalidParameterException", await ErrorAsync("CreateRepository", new { repositoryName = "Has Spaces" }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("CreateRepository", new { }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("DescribeRepositories", new { maxResults = 5000 }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("DescribeRepositories", new { nextToken = "%%%" }));
        Assert.Equal("UnknownOperationException", await ErrorAsync("LaunchRockets", new { }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("BatchGetImage", new { repositoryName = "ecr/x", imageIds = new[] { new { imageDigest = "sha256:nothex" } } }));

        var http = registry.CreateAnonymousClient();
        var signedBadJson = _ecr.Sign("DescribeRepositories", "{not json", DateTimeOffset.UtcNow, Guid.NewGuid().ToString());
        signedBadJson.Content!.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.1");
        var serialization = await http.SendAsync(signedBadJson);
        Assert.Equal("SerializationException", await TypeOfAsync(serialization));
    }

    [SkippableFact]
    public async Task Unsigned_mis_signed_expired_and_replayed_requests_are_refused()
    {
        var http = registry.CreateAnonymousClient();
        var unsigned = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent("{}", Encoding.UTF8, "application/x-amz-json-1.1") };
        unsigned.Headers.TryAddWithoutValidation("X-Amz-Target", AwsJsonTestClient.EcrTargetPrefix + "DescribeRepositories");
        Assert.Equal("MissingAuthenticationTokenException", await TypeOfAsync(await http.SendAsync(unsigned)));

        var wrongSecret = new AwsJsonTestClient(registry.CreateAnonymousClient(), (await KeyIdAsync())!, new string('x', 40));
        Assert.Equal("InvalidSignatureException", (await wrongSecret.CallAsync("DescribeRepositories", new { })).Body.GetProperty("__type").GetString());
        var unknownKey = new AwsJsonTestClient(registry.CreateAnonymousClient(), "AKIAUNKNOWNUNKNOWN00", new string('x', 40));
        Assert.Equal("UnrecognizedClientException", (await unknownKey.CallAsync("DescribeRepositories", new { })).Body.GetProperty("__type").GetString());

        var (_, expired) = await _ecr.CallAsync("DescribeRepositories", new { }, signedAt: DateTimeOffset.UtcNow.AddMinutes(-20));
        Assert.Equal("InvalidSignatureException", expired.GetProperty("__type").GetString());
        Assert.Contains("Signature expired", expired.GetProperty("message").GetString(), StringComparison.Ordinal);

        var altered = await _ecr.CallAsync("DescribeRepositories", new { }, tamper: m => m.Content = new StringContent("{\"maxResults\":1}", Encoding.UTF8, "application/x-amz-json-1.1"));
        Assert.Equal("InvalidSignatureException", altered.Body.GetProperty("__type").GetString());

        var now = DateTimeOffset.UtcNow;
        var invocation = Guid.NewGuid().ToString();
        var once = _ecr.Sign("DescribeRepositories", "{}", now, invocation);
        var again = _ecr.Sign("DescribeRepositories", "{}", now, invocation);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(once)).StatusCode);
        Assert.Equal("InvalidSignatureException", await TypeOfAsync(await http.SendAsync(again)));

        // Without an invocation id (as the older AWS CLI signs) two identical calls in one second are two calls.
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(_ecr.Sign("DescribeRepositories", "{}", now, null))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(_ecr.Sign("DescribeRepositories", "{}", now, null))).StatusCode);
    }

    private async Task<string?> KeyIdAsync()
    {
        using var keys = JsonDocument.Parse(await _admin.GetStringAsync("/admin/v1/users/admin/access-keys"));
        return keys.RootElement.GetProperty("accessKeys")[0].GetProperty("accessKeyId").GetString();
    }

    private async Task<(string Repository, string Digest)> PushedAsync()
    {
        var name = OciTestClient.UniqueRepository("ecr");
        var (_, digest) = await _admin.PushImageAsync(name, "v1");
        return (name, digest);
    }

    private async Task<string?> ErrorAsync(string operation, object request)
    {
        var (status, body) = await _ecr.CallAsync(operation, request);
        Assert.True(status is >= 400 and < 500, $"{operation}: expected an error, got {status} {body}");
        return body.GetProperty("__type").GetString();
    }

    private static async Task<string?> TypeOfAsync(HttpResponseMessage response)
    {
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"expected an error, got {(int)response.StatusCode}");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("__type").GetString();
    }
}

public sealed class EcrApiTestsOnSqlite(RegistryFixture registry) : EcrApiTests(registry), IClassFixture<RegistryFixture>;

public sealed class EcrApiTestsOnPostgreSql(PostgreSqlRegistryFixture registry) : EcrApiTests(registry.Require()), IClassFixture<PostgreSqlRegistryFixture>;
