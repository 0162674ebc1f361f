using Amazon;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;

namespace Registry.Storage.Kms;

/// <summary>AWS KMS (or a KMS-compatible endpoint) through AWSSDK.KeyManagementService; credentials from the SDK's default chain.</summary>
public sealed class AwsKmsClient : IKmsClient, IDisposable
{
    private readonly AmazonKeyManagementServiceClient _client;

    public AwsKmsClient(string? serviceUrl, string? region)
    {
        var config = new AmazonKeyManagementServiceConfig();
        if (!string.IsNullOrEmpty(serviceUrl))
        {
            config.ServiceURL = serviceUrl;
            config.AuthenticationRegion = region ?? "us-east-1";
        }
        else if (!string.IsNullOrEmpty(region))
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        _client = new AmazonKeyManagementServiceClient(config);
        Description = $"AWS KMS at {(string.IsNullOrEmpty(serviceUrl) ? region ?? "the default region" : serviceUrl)}";
    }

    public string Description { get; }

    public async Task<(byte[] Plaintext, byte[] Ciphertext)> GenerateDataKeyAsync(string kmsKeyId, IReadOnlyDictionary<string, string> context, CancellationToken cancellationToken)
    {
        var response = await _client.GenerateDataKeyAsync(
            new GenerateDataKeyRequest { KeyId = kmsKeyId, KeySpec = DataKeySpec.AES_256, EncryptionContext = context.ToDictionary() },
            cancellationToken);
        return (response.Plaintext.ToArray(), response.CiphertextBlob.ToArray());
    }

    public async Task<byte[]> DecryptAsync(byte[] ciphertext, IReadOnlyDictionary<string, string> context, CancellationToken cancellationToken)
    {
        using var blob = new MemoryStream(ciphertext);
        var response = await _client.DecryptAsync(new DecryptRequest { CiphertextBlob = blob, EncryptionContext = context.ToDictionary() }, cancellationToken);
        return response.Plaintext.ToArray();
    }

    public void Dispose() => _client.Dispose();
}
