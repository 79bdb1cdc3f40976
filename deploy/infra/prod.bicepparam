// Production: 1 to 10 replicas (sessions relayed over Redis), 90 days of logs, a Standard
// registry, alerts e-mailed to the on-call address.
using './main.bicep'

param environmentName = 'prod'
param serverAppId = readEnvironmentVariable('MCP_SERVER_APP_ID', '')
param sentinelWorkspaceId = readEnvironmentVariable('SENTINEL_WORKSPACE_ID', '')
param sentinelWorkspaceResourceId = readEnvironmentVariable('SENTINEL_WORKSPACE_RESOURCE_ID', '')
param alertEmail = readEnvironmentVariable('ALERT_EMAIL', '')
param minReplicas = 1
param maxReplicas = 10
param httpConcurrency = 50
param sessionsPerReplica = 1000
param registrySku = 'Standard'
param redisSku = 'Standard'
param redisCapacity = 1
param logRetentionDays = 90
param enableWriteTools = false
