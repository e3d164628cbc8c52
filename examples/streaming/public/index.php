<?php
// A page that arrives as it is produced: each flush() reaches the browser at once when the function
// streams (LAMBDA_FPM_INVOKE_MODE=response_stream behind a Function URL in RESPONSE_STREAM mode or a
// REST API method with ResponseTransferMode STREAM).
header('Content-Type: text/html; charset=UTF-8');
echo "<!doctype html><title>lambda-fpm streaming</title><h1>Streaming from PHP</h1>\n";
flush();
for ($i = 1; $i <= 5; $i++) {
    usleep(400000);
    echo "<p>part $i at ", date('H:i:s'), "</p>\n";
    flush();
}
echo "<p>done</p>\n";
