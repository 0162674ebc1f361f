using Registry.Security.Policies;

namespace Registry.Tests.Security;

public sealed class PolicyParserTests
{
    [Theory]
    [InlineData("""not json""", PolicyKind.Identity, "Policy")]
    [InlineData("""[]""", PolicyKind.Identity, "Policy")]
    [InlineData("""{"Version":"2012-10-17"}""", PolicyKind.Identity, "Statement")]
    [InlineData("""{"Version":"2012-10-18","Statement":[]}""", PolicyKind.Identity, "Version")]
    [InlineData("""{"Version":"2012-10-17","Statement":[]}""", PolicyKind.Identity, "Statement")]
    [InlineData("""{"Version":"2012-10-17","Statment":[]}""", PolicyKind.Identity, "Statment")]
    [InlineData("""{"Statement":{"Effect":"Permit","Action":"ecr:*","Resource":"*"}}""", PolicyKind.Identity, "Statement.Effect")]
    [InlineData("""{"Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*"},{"Action":"ecr:*","Resource":"*"}]}""", PolicyKind.Identity, "Statement[1].Effect")]
    [InlineData("""{"Statement":{"Effect":"Allow","Resource":"*"}}""", PolicyKind.Identity, "Statement")]
    [InlineData("""{"Statement":{"Effect":"Allow","Action":"ecr:*","NotAction":"ecr:PutImage","Resource":"*"}}""", PolicyKind.Identity, "Statement")]
    [InlineData("""{"Statement":{"Effect":"Allow","Action":"BatchGetImage","Resource":"*"}}""", PolicyKind.Identity, "Statement.Action")]
    [InlineData("""{"Statement":{"Effect":"Allow","Action":["ecr:*",7],"Resource":"*"}}""", PolicyKind.Identity, "Statement.Action")]
    [InlineData("""{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"repository/app"}}""", PolicyKind.Identity, "Statement.Resource")]
    [InlineData("""{"Statement":{"Effect":"Allow","Action":"ecr:*"}}""", PolicyKind.Identity, "Statement.Resource")]
    [InlineData("""{"Statement":{"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*"}}""", PolicyKind.Identity, "Statement.Principal")]
    [InlineData("""{"Statement":{"Effect":"Allow","Action":"ecr:*"}}""", PolicyKind.Resource, "Statement.Principal")]
    [InlineData("""{"Statement":{"Effect":"Allow","Principal":{"AWS":"alice"},"Action":"ecr:*"}}""", PolicyKind.Resource, "Statement.Principal.AWS")]
    [InlineData("""{"Statement":{"Effect":"Allow","Principal":{"Users":"*"},"Action":"ecr:*"}}""", PolicyKind.Resource, "Statement.Principal.Users")]
    [InlineData("""{"Statement":{"Effect":"Allow","Principal":"everyone","Action":"ecr:*"}}""", PolicyKind.Resource, "Statement.Principal")]
    [InlineData("""{"Statement":{"Sid":"has space","Effect":"Allow","Action":"ecr:*","Resource":"*"}}""", PolicyKind.Identity, "Statement.Sid")]
    [InlineData("""{"Statement":[{"Sid":"A","Effect":"Allow","Action":"ecr:*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"ecr:*","Resource":"*"}]}""", PolicyKind.Identity, "Statement")]
    [InlineData("""{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"StringEqualz":{"aws:username":"a"}}}}""", PolicyKind.Identity, "Statement.Condition.StringEqualz")]
    [InlineData("""{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}}""", PolicyKind.Identity, "Statement.Condition.IpAddress.aws:SourceIp")]
    [InlineData("""{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"next tuesday"}}}}""", PolicyKind.Identity, "Statement.Condition.DateLessThan.aws:CurrentTime")]
    [InlineData("""{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}}""", PolicyKind.Identity, "Statement.Condition.Bool.aws:SecureTransport")]
    [InlineData("""{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"NullIfExists":{"aws:username":"true"}}}}""", PolicyKind.Identity, "Statement.Condition.NullIfExists")]
    [InlineData("""{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"StringEquals":{"aws:username":[]}}}}""", PolicyKind.Identity, "Statement.Condition.StringEquals.aws:username")]
    [InlineData("""{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"NumericLessThan":{"ecr:count":"ten"}}}}""", PolicyKind.Identity, "Statement.Condition.NumericLessThan.ecr:count")]
    public void A_malformed_policy_is_rejected_naming_the_offending_element(string json, PolicyKind kind, string element)
    {
        var error = Assert.Throws<PolicyException>(() => PolicyParser.Parse(json, kind));

        Assert.Equal(element, error.Element);
        Assert.StartsWith(element + ": ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_policy_pasted_from_aws_parses_with_single_values_and_arrays()
    {
        var policy = PolicyParser.Parse(
            """
            {
              "Version": "2012-10-17",
              "Id": "ecr-policy",
              "Statement": [
                {
                  "Sid": "AllowPull",
                  "Effect": "Allow",
                  "Principal": { "AWS": ["arn:aws:iam::111122223333:root", "444455556666"] },
                  "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                  "Condition": { "ForAnyValue:StringLike": { "aws:TagKeys": ["env-*"] }, "NumericLessThanEquals": { "ecr:count": 10 }, "BoolIfExists": { "aws:SecureTransport": true } }
                }
              ]
            }
            """,
            PolicyKind.Resource);

        var statement = Assert.Single(policy.Statements);
        Assert.Equal("AllowPull", statement.Sid);
        Assert.Equal(["arn:aws:iam::111122223333:root", "444455556666"], statement.Principal!.ByType["AWS"]);
        Assert.Equal(3, statement.Conditions.Count);
        Assert.Contains(statement.Conditions, c => c is { Operator: ConditionOperator.StringLike, Qualifier: SetQualifier.ForAnyValue, Key: "aws:TagKeys" });
        Assert.Contains(statement.Conditions, c => c is { Operator: ConditionOperator.NumericLessThanEquals, Values: ["10"] });
        Assert.Contains(statement.Conditions, c => c is { Operator: ConditionOperator.Bool, IfExists: true, Values: ["true"] });
    }
}
