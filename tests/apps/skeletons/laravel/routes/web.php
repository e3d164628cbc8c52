<?php

use Illuminate\Http\Request;
use Illuminate\Support\Facades\Route;

Route::get('/', function () {
    return view('home');
});

Route::get('/login', function () {
    return view('login');
});

Route::post('/login', function (Request $request) {
    $name = trim((string) $request->input('name'));
    if ($name === '') {
        return redirect('/login');
    }
    $request->session()->put('name', $name);
    return redirect('/hello');
});

Route::get('/hello', function (Request $request) {
    if (!$request->session()->has('name')) {
        return redirect('/login');
    }
    return view('hello', ['name' => $request->session()->get('name')]);
});

Route::permanentRedirect('/old-home', '/');
