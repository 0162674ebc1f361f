using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Registry.Security.SigV4;

/// <summary>
/// Signs an AWS JSON 1.1 call (<c>POST /</c>, <c>X-Amz-Target</c>) the way the AWS SDKs do, for the
/// registry's own clients (the agent) and tests. Each call carries a signed <c>amz-sdk-invocation-id</c>,
/// so two calls never share a signature unless one is a replay; without one (null) the call is signed
/// as the older AWS CLI signs, over content-type, host, x-amz-date and x-amz-target only. Temporary
/// credentials send their <see cref="SessionToken"/> as a signed <c>x-amz-security-token</c>.
/// </summary>
public sealed record SigV4Signer(string AccessKeyId, string Secret, string Region, string Service, string? SessionToken = null)
{
    public HttpRequestMessage JsonCall(string host, string target, string body, DateTimeOffset signedAt, string? invocationId)
    {
        var amzDate = signedAt.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var date = amzDate[..8];
        var all = new[]
        {
            ("amz-sdk-invocation-id", invocationId),
            ("content-type", "application/x-amz-json-1.1"),
            ("host", host),
            ("x-amz-date", amzDate),
            ("x-amz-security-token", SessionToken),
            ("x-amz-target", target),
        }.Where(h => h.Item2 is not null).ToList();
        var headers = all.ToLookup(h => h.Item1, h => h.Item2!);
        var signed = all.Select(h => h.Item1).ToArray();
        var payloadHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)));
        var scope = $"{date}/{Region}/{Service}/aws4_request";
        var signature = SigV4Signature.Signature(
            SigV4Signature.SigningKey(Secret, date, Region, Service),
            SigV4Signature.StringToSign(amzDate, scope, SigV4Signature.CanonicalRequest("POST", "/", "", headers, signed, payloadHash)));
        var message = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(body, Encoding.UTF8) };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.1");
        if (invocationId is not null)
        {
            message.Headers.TryAddWithoutValidation("amz-sdk-invocation-id", invocationId);
        }

        message.Headers.TryAddWithoutValidation("X-Amz-Date", amzDate);
        message.Headers.TryAddWithoutValidation("X-Amz-Target", target);
        if (SessionToken is not null)
        {
            message.Headers.TryAddWithoutValidation("X-Amz-Security-Token", SessionToken);
        }

        message.Headers.TryAddWithoutValidation("Authorization", $"{SigV4Signature.Algorithm} Credential={AccessKeyId}/{scope}, SignedHeaders={string.Join(';', signed)}, Signature={signature}");
        return message;
    }
}
