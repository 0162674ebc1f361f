using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Registry.Security.SigV4;

namespace Registry.Tests.Support;

/// <summary>Calls an AWS JSON API (ECR by default, or ECS) in process, signed with SigV4 (the signer checked against AWS's published examples).</summary>
public sealed class AwsJsonTestClient(HttpClient http, string accessKeyId, string secret, string service = "ecr", string targetPrefix = AwsJsonTestClient.EcrTargetPrefix)
{
    public const string EcrTargetPrefix = "AmazonEC2ContainerRegistry_V20150921.";
    public const string EcsTargetPrefix = "AmazonEC2ContainerServiceV20141113.";
    private const string Region = "us-east-1";

    /// <summary>Sends an operation; returns the status and the parsed body.</summary>
    public async Task<(int Status, JsonElement Body)> CallAsync(string operation, object request, DateTimeOffset? signedAt = null, Action<HttpRequestMessage>? tamper = null)
    {
        var message = Sign(operation, JsonSerializer.Serialize(request), signedAt ?? DateTimeOffset.UtcNow, Guid.NewGuid().ToString());
        tamper?.Invoke(message);
        var response = await http.SendAsync(message);
        var text = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(text.Length == 0 ? "{}" : text);
        return ((int)response.StatusCode, json.RootElement.Clone());
    }

    /// <summary>
    /// A signed request, for tests that replay or alter it. Like the AWS SDKs, each invocation carries a
    /// signed <c>amz-sdk-invocation-id</c>, so two calls never share a signature unless one is a replay.
    /// </summary>
    public HttpRequestMessage Sign(string operation, string body, DateTimeOffset signedAt, string invocationId)
    {
        var amzDate = signedAt.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var date = amzDate[..8];
        var host = http.BaseAddress!.Authority;
        var headers = new[]
        {
            ("amz-sdk-invocation-id", invocationId),
            ("content-type", "application/x-amz-json-1.1"),
            ("host", host),
            ("x-amz-date", amzDate),
            ("x-amz-target", targetPrefix + operation),
        }.ToLookup(h => h.Item1, h => h.Item2);
        string[] signed = ["amz-sdk-invocation-id", "content-type", "host", "x-amz-date", "x-amz-target"];
        var payloadHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)));
        var scope = $"{date}/{Region}/{service}/aws4_request";
        var signature = SigV4Signature.Signature(
            SigV4Signature.SigningKey(secret, date, Region, service),
            SigV4Signature.StringToSign(amzDate, scope, SigV4Signature.CanonicalRequest("POST", "/", "", headers, signed, payloadHash)));
        var message = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(body, Encoding.UTF8) };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.1");
        message.Headers.TryAddWithoutValidation("amz-sdk-invocation-id", invocationId);
        message.Headers.TryAddWithoutValidation("X-Amz-Date", amzDate);
        message.Headers.TryAddWithoutValidation("X-Amz-Target", targetPrefix + operation);
        message.Headers.TryAddWithoutValidation("Authorization", $"{SigV4Signature.Algorithm} Credential={accessKeyId}/{scope}, SignedHeaders={string.Join(';', signed)}, Signature={signature}");
        return message;
    }
}
