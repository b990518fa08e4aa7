// An OCPP 1.6J charge point that homeflex did not write: the npm package ocpp-rpc (2.2.1, MIT) in strict
// mode, so every CALL homeflex sends is checked against the OCPP 1.6 JSON schemas on this side.
// Used by tests/drivers/test_ocpp_rpc.py: it prints what happens as JSON lines on stdout and stops when
// its stdin closes.
//
// env: ENDPOINT (the central system's URL), IDENTITY, PASSWORD, BAD_PASSWORD (tried first, expected to
// be refused).
'use strict';
const { RPCClient } = require('ocpp-rpc');

const say = (event, fields) => process.stdout.write(JSON.stringify({ event, ...fields }) + '\n');

function client(password) {
    return new RPCClient({
        endpoint: process.env.ENDPOINT,
        identity: process.env.IDENTITY,
        password,
        protocols: ['ocpp1.6'],
        strictMode: true,
        reconnect: false,
    });
}

async function main() {
    try {
        await client(process.env.BAD_PASSWORD).connect();
        say('let_in_with_bad_password', {});
    } catch (err) {
        say('refused', { message: String(err && err.message) });
    }

    const cli = client(process.env.PASSWORD);
    let limit = null;  // the TxDefaultProfile in force at the highest stack level, as this charger sees it
    const profiles = new Map();  // stackLevel -> limit
    const record = (method) => cli.handle(method, ({ params }) => {
        say('call', { method, params });
        if (method === 'SetChargingProfile') {
            const p = params.csChargingProfiles;
            profiles.set(p.stackLevel, p.chargingSchedule.chargingSchedulePeriod[0].limit);
        } else if (method === 'ClearChargingProfile') {
            profiles.delete(params.stackLevel);
        }
        limit = profiles.size ? profiles.get(Math.max(...profiles.keys())) : null;
        if (method === 'GetCompositeSchedule') {
            return {
                status: 'Accepted',
                connectorId: params.connectorId,
                scheduleStart: new Date().toISOString(),
                chargingSchedule: {
                    chargingRateUnit: params.chargingRateUnit || 'W',
                    chargingSchedulePeriod: [{ startPeriod: 0, limit: limit === null ? 7400 : limit }],
                },
            };
        }
        return { status: 'Accepted' };
    });
    ['SetChargingProfile', 'ClearChargingProfile', 'ChangeConfiguration', 'GetCompositeSchedule'].forEach(record);

    await cli.connect();
    say('connected', { protocol: cli.protocol });
    const boot = await cli.call('BootNotification', { chargePointVendor: 'ocpp-rpc', chargePointModel: 'counterpart' });
    say('boot', { response: boot });
    await cli.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' });
    await cli.call('MeterValues', {
        connectorId: 1,
        meterValue: [{
            timestamp: new Date().toISOString(),
            sampledValue: [
                { value: '3680', measurand: 'Power.Active.Import', unit: 'W' },
                { value: '12.345', measurand: 'Energy.Active.Import.Register', unit: 'kWh' },
                { value: '42', measurand: 'SoC', unit: 'Percent' },
            ],
        }],
    });
    say('readings_sent', {});

    process.stdin.resume();
    await new Promise((resolve) => process.stdin.on('end', resolve));
    await cli.close();
    say('closed', {});
}

main().catch((err) => {
    say('error', { message: String(err && err.stack) });
    process.exit(1);
});
